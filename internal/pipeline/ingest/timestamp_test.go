package ingest

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/backbone-dev/backbone/internal/pipeline/spec"
)

// slowTimestamp is how a timestamp without a layout was parsed before the allocation-free
// forms: every layout in turn. It is the reference parseTimestamp must equal.
func slowTimestamp(s string, loc *time.Location) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05Z07:00", "2006-01-02T15:04:05.999999999Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func timestampColumn(t testing.TB, zone string) *column {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	c, err := newColumn(spec.Column{Name: "at", Type: spec.TypeTimestamp}, nil, loc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sameTimestamp fails unless the column reads s as time.Parse does: the same instant and
// the same local day, or both reject it.
func sameTimestamp(t testing.TB, c *column, s string) {
	t.Helper()
	us, day, ok := c.timestamp(s)
	want, wantOK := slowTimestamp(s, c.loc)
	if ok != wantOK || ok && (us != want.UnixMicro() || day != dayOf(want.In(c.loc))) {
		t.Fatalf("%q in %s: got %d µs, day %d (%v); time.Parse gives %v, %d µs, day %d (%v)",
			s, c.loc, us, day, ok, want, want.UnixMicro(), dayOf(want.In(c.loc)), wantOK)
	}
}

func TestTimestampWithoutOffset(t *testing.T) {
	c := timestampColumn(t, "America/Los_Angeles")
	for _, tc := range []struct {
		in   string
		want string // RFC 3339 in the zone; "" when rejected
	}{
		{"2001-01-01 00:01:00", "2001-01-01T00:01:00-08:00"},
		{"2001-07-04T23:59:59", "2001-07-04T23:59:59-07:00"},
		{"2001-07-04 12:30", "2001-07-04T12:30:00-07:00"},
		{"2024-02-29 08:00:00.5", "2024-02-29T08:00:00.5-08:00"},
		{"2024-02-29 08:00:00.123456789", "2024-02-29T08:00:00.123456789-08:00"},
		// The spring-forward gap: 02:30 does not exist; time.Date reads it with the offset
		// in force before the gap.
		{"2024-03-10 02:30:00", "2024-03-10T01:30:00-08:00"},
		// The fall-back hour happens twice; time.Date takes the first.
		{"2024-11-03 01:30:00", "2024-11-03T01:30:00-07:00"},
		{"2023-02-29 08:00:00", ""},
		{"2024-04-31 08:00:00", ""},
		{"2024-01-01 24:00:00", ""},
		{"2024-01-01 23:60:00", ""},
		{"2024-01-01 23:59:60", ""},
		{"2024-01-01 23:59:59.", ""},
		{"2024-13-01 00:00:00", ""},
		// Forms left to time.Parse keep their meaning.
		{"2024-01-01T08:00:00Z", "2024-01-01T00:00:00-08:00"},
		{"2024-01-01 08:00:00+01:00", "2023-12-31T23:00:00-08:00"},
		{"2024-01-01 8:00:00", "2024-01-01T08:00:00-08:00"},
		{"2024-01-01 08:00:00,25", "2024-01-01T08:00:00.25-08:00"},
		{"2024-01-01 08:00:00.1234567891", "2024-01-01T08:00:00.123456789-08:00"},
	} {
		us, day, ok := c.timestamp(tc.in)
		if tc.want == "" {
			if ok {
				t.Errorf("%q: parsed as %d µs, want rejected", tc.in, us)
			}
			continue
		}
		want, _ := time.Parse(time.RFC3339Nano, tc.want)
		if got := time.UnixMicro(us).In(c.loc); !ok || !got.Equal(want.Truncate(time.Microsecond)) || day != dayOf(got) {
			t.Errorf("%q: got %s day %d (%v), want %s", tc.in, got.Format(time.RFC3339Nano), day, ok, tc.want)
		}
		sameTimestamp(t, c, tc.in)
	}
}

// Random timestamps in zones with gaps at odd hours and at midnight give what time.Parse
// gives, value by value.
func TestTimestampMatchesParseInLocation(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 4))
	seps := []string{" ", "T"}
	for _, zone := range []string{"America/Los_Angeles", "UTC", "Australia/Lord_Howe", "America/Santiago", "Asia/Kathmandu", "America/Havana"} {
		c := timestampColumn(t, zone)
		for i := 0; i < 20000; i++ {
			// Around every transition of a few years, and anywhere in between.
			at := time.Unix(rng.Int64N(int64(40*365*86400))+int64(1990-1970)*365*86400, 0).UTC()
			y, mo, d := at.Date()
			if rng.IntN(4) == 0 {
				d = 28 + rng.IntN(4) // month ends, invalid days included
			}
			h, mi, sec := at.Hour(), at.Minute(), at.Second()
			if rng.IntN(50) == 0 {
				h = 20 + rng.IntN(6) // 24 and 25 included
			}
			var b strings.Builder
			b.WriteString(time.Date(y, mo, 1, 0, 0, 0, 0, time.UTC).Format("2006-01"))
			b.WriteString("-" + two(d) + seps[rng.IntN(2)] + two(h) + ":" + two(mi))
			switch rng.IntN(4) {
			case 0:
			case 1:
				b.WriteString(":" + two(sec))
			default:
				b.WriteString(":" + two(sec) + "." + strings.Repeat("7", 1+rng.IntN(10)))
			}
			sameTimestamp(t, c, b.String())
		}
	}
}

func two(v int) string { return string([]byte{byte('0' + v/10), byte('0' + v%10)}) }

// FuzzTimestamp: any text parses exactly as time.Parse and time.ParseInLocation do.
func FuzzTimestamp(f *testing.F) {
	for _, s := range []string{"2001-01-01 00:01:00", "2024-03-10T02:30", "2024-11-03 01:30:00.999999999",
		"2024-01-01T08:00:00Z", "2024-02-30 00:00:00", "0000-01-01 00:00:00", "9999-12-31T23:59:59.1"} {
		f.Add(s)
	}
	c := timestampColumn(f, "America/Los_Angeles")
	f.Fuzz(func(t *testing.T, s string) {
		sameTimestamp(t, c, s)
	})
}

func BenchmarkTimestampWithoutOffset(b *testing.B) {
	c := timestampColumn(b, "America/Los_Angeles")
	b.ReportAllocs()
	for b.Loop() {
		if _, _, ok := c.timestamp("2001-03-17 13:45:00"); !ok {
			b.Fatal("rejected")
		}
	}
}

// Every ten minutes through two years, in order, so the span of constant offset carries
// from value to value across each transition (the gaps and repeated hours included, at
// 02:00, at midnight and half-hour shifts).
func TestTimestampAcrossTransitions(t *testing.T) {
	for _, zone := range []string{"America/Los_Angeles", "Australia/Lord_Howe", "America/Santiago", "America/Havana", "Europe/London"} {
		c := timestampColumn(t, zone)
		for at := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC); at.Year() < 2025; at = at.Add(10 * time.Minute) {
			sameTimestamp(t, c, at.Format("2006-01-02 15:04:05"))
		}
		// And backwards, through the same transitions from the other side.
		for at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC); at.Year() >= 2023; at = at.Add(-7 * time.Minute) {
			sameTimestamp(t, c, at.Format("2006-01-02T15:04"))
		}
	}
}

// slowWallClock is how a typed timestamp without a zone was converted before wallClock:
// its wall clock's fields through time.Date in the zone.
func slowWallClock(v int64, unit arrow.TimeUnit, loc *time.Location) (int64, int32) {
	t := arrow.Timestamp(v).ToTime(unit)
	t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc)
	return t.UnixMicro(), dayOf(t.In(loc))
}

func sameWallClock(t testing.TB, c *column, v int64, unit arrow.TimeUnit) {
	t.Helper()
	us, day := c.wallClock(v, unit)
	wantUS, wantDay := slowWallClock(v, unit, c.loc)
	if us != wantUS || day != wantDay {
		t.Fatalf("%d %s in %s (%s): got %d µs, day %d; time.Date gives %d µs, day %d",
			v, unit, c.loc, arrow.Timestamp(v).ToTime(unit), us, day, wantUS, wantDay)
	}
}

// Typed timestamps without a zone (Parquet, Arrow IPC) in every unit, every seven minutes
// through two years and back, across the transitions of five zones: the instant and the
// day time.Date gives.
func TestWallClockAcrossTransitions(t *testing.T) {
	units := []arrow.TimeUnit{arrow.Second, arrow.Millisecond, arrow.Microsecond, arrow.Nanosecond}
	for _, zone := range []string{"America/Los_Angeles", "Australia/Lord_Howe", "America/Santiago", "America/Havana", "Europe/London"} {
		c := timestampColumn(t, zone)
		for at := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC); at.Year() < 2025; at = at.Add(7 * time.Minute) {
			for _, u := range units {
				sameWallClock(t, c, at.UnixNano()/int64(u.Multiplier())+int64(at.Second()%3), u)
			}
		}
		for at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC); at.Year() >= 2023; at = at.Add(-11 * time.Minute) {
			sameWallClock(t, c, at.UnixMilli()-1, arrow.Millisecond)
		}
	}
}

// Before the epoch, fractions of a second, the ends of the civil range and beyond it.
func TestWallClockEdges(t *testing.T) {
	c := timestampColumn(t, "America/Los_Angeles")
	for _, tc := range []struct {
		v    int64
		unit arrow.TimeUnit
	}{
		{0, arrow.Second}, {-1, arrow.Second}, {-1, arrow.Nanosecond}, {-86_400_001, arrow.Millisecond},
		{1_234_567_890_123_456, arrow.Microsecond}, {-1_234_567_890_123_456, arrow.Microsecond},
		{253_402_300_799, arrow.Second}, {253_402_300_800, arrow.Second}, // 9999-12-31T23:59:59 and a second later
		{-62_135_596_800, arrow.Second}, {-62_135_596_801, arrow.Second}, // 0001-01-01T00:00:00 and a second before
		{math.MaxInt64, arrow.Nanosecond}, {math.MinInt64, arrow.Nanosecond},
		{math.MaxInt64 / 1000, arrow.Millisecond}, {math.MinInt64 / 1000, arrow.Millisecond},
	} {
		sameWallClock(t, c, tc.v, tc.unit)
	}
}

// FuzzWallClock: any typed timestamp without a zone converts as time.Date does.
func FuzzWallClock(f *testing.F) {
	f.Add(int64(978307260), uint8(0))
	f.Add(int64(-1), uint8(3))
	f.Add(int64(1_000_000_000_000_000), uint8(2))
	c := timestampColumn(f, "Europe/London")
	f.Fuzz(func(t *testing.T, v int64, u uint8) {
		sameWallClock(t, c, v, arrow.TimeUnit(u%4))
	})
}
