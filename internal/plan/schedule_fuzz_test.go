package plan

import (
	"errors"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

// fieldErrors lists the fields an Ingest error names.
func fieldErrors(err error) map[string]bool {
	fields := map[string]bool{}
	var es Errors
	if errors.As(err, &es) {
		for _, e := range es {
			fields[e.Field] = true
		}
	}
	return fields
}

// FuzzSchedule plans a DataSource with an arbitrary cron schedule and arbitrary time zones
// (the Initiative's and the DataSource's). Nothing panics; the schedule is refused exactly
// when the cron parser refuses it and the zones exactly when the time package does not
// know them; an accepted schedule fires strictly later than the time it is asked about;
// the planned zone loads.
func FuzzSchedule(f *testing.F) {
	for _, s := range [][3]string{
		{"0 6 * * *", "America/Los_Angeles", ""},
		{"61 * * * *", "UTC", "Europe/Paris"},
		{"@daily", "", "Nope/Nowhere"},
		{"CRON_TZ=Asia/Tokyo */15 1-5 * 1,3 MON-FRI", "Local", "../etc/passwd"},
		{"TZ=Bad/Zone 0 0 * * *", "/usr/share/zoneinfo/UTC", "utc"},
		{"0 0 30 2 *", "Etc/GMT+12", "America/Argentina/ComodRivadavia"},
		{"@every 1h30m", "EST5EDT", ""},
		{"* * * * * *", "America/New_York", "\x00"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	from := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, schedule, iniZone, dsZone string) {
		ini, srcs, _ := objects()
		ini.Spec.TimeZone = iniZone
		ds := &srcs[0]
		ds.Spec.Schedule, ds.Spec.TimeZone = schedule, dsZone
		p, err := Ingest(ini, ds, IngestOptions{AllowFileLocations: true, BaseDir: "/data"})
		fields := fieldErrors(err)
		if err != nil && len(fields) == 0 {
			t.Fatalf("error names no field: %v", err)
		}
		sched, perr := cron.ParseStandard(schedule)
		if want := schedule != "" && perr != nil; fields["spec.schedule"] != want {
			t.Fatalf("schedule %q: refused=%v, the cron parser says %v", schedule, fields["spec.schedule"], perr)
		}
		_, iniErr := time.LoadLocation(iniZone)
		_, dsErr := time.LoadLocation(dsZone)
		if want := iniErr != nil || (dsZone != "" && dsErr != nil); fields["spec.timeZone"] != want {
			t.Fatalf("zones %q, %q: refused=%v, the time package says %v, %v", iniZone, dsZone, fields["spec.timeZone"], iniErr, dsErr)
		}
		if perr == nil {
			next := sched.Next(from)
			if !next.IsZero() && !next.After(from) {
				t.Fatalf("schedule %q: next run %v is not after %v", schedule, next, from)
			}
		}
		if err == nil {
			if _, lerr := time.LoadLocation(p.TimeZone); lerr != nil {
				t.Fatalf("planned zone %q does not load: %v", p.TimeZone, lerr)
			}
		}
	})
}
