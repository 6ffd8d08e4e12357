package main

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// The school district's kindergarten readiness assessment: one row per kindergartener,
// assessed in the fall of school years 2021–22 to 2025–26. Race and income come as the
// district's codes (mapped by the DataSource's valueMap).

// kindergartenYears are the fall assessments in the file and the size of each cohort.
var kindergartenYears = []struct{ year, cohort int }{
	{2021, 2380}, {2022, 2540}, {2023, 2510}, {2024, 2470}, {2025, 2430},
}

// raceCodes are the district's race codes, in the order of raceNames; 9 is unknown.
var raceCodes = [nRaces]string{"1", "2", "3", "4", "5", "6", "7"}

// frlCodes are the district's free and reduced-price lunch codes, by income group.
var frlCodes = [nIncomes]string{"2", "1", "0"}

// schools are the elementary schools of each district.
var schools = [nDistricts][]string{
	northgate:  {"Northgate Elementary", "Oak Grove Elementary", "Cedar Hills Elementary"},
	riverside:  {"Riverside Elementary", "Mission Street Elementary", "Las Palmas Elementary", "Cesar Chavez Elementary", "Alder Creek Elementary"},
	hillcrest:  {"Hillcrest Elementary", "Sunridge Elementary", "Madrone Elementary"},
	lakeview:   {"Lakeview Elementary", "Harbor Point Elementary"},
	pineValley: {"Pine Valley Elementary", "Coyote Flat School"},
}

// Log-odds of being assessed ready: a base, effects of race, income and district, and a
// slight improvement each year.
var (
	readyBase     = 0.62
	readyTrend    = 0.07
	readyRace     = [nRaces]float64{aian: -0.65, asian: 0.15, black: -0.6, hispanic: -0.45, pacific: -0.55, white: 0, multiracial: -0.15}
	readyUnknown  = -0.2
	readyIncome   = [nIncomes]float64{belowPoverty: -0.6, lowIncome: -0.25, notLowIncome: 0.25}
	readyDistrict = [nDistricts]float64{northgate: 0.05, riverside: -0.15, hillcrest: 0.2, lakeview: -0.05, pineValley: -0.1}
)

type kindergartener struct {
	id, assessedOn, district, school, race, frl, ready, score string
	date                                                      time.Time
}

func writeKindergarten(buf *bytes.Buffer, r *rng) error {
	var rows []kindergartener
	for _, ky := range kindergartenYears {
		n := ky.cohort + r.intn(41) - 20
		ids := make([]int, n)
		for i := range ids {
			ids[i] = i + 1
		}
		for i := n - 1; i > 0; i-- {
			j := r.intn(i + 1)
			ids[i], ids[j] = ids[j], ids[i]
		}
		year := make([]kindergartener, 0, n)
		for i := range n {
			d := r.pick(districtShare)
			race := drawRace(r, d, 0.015)
			income := -1
			if !r.chance(0.03) {
				if race >= 0 {
					income = r.pick(incomeWeights(race, d))
				} else {
					income = r.pick(incomeWeights(hispanic, d))
				}
			}
			logit := readyBase + readyTrend*float64(ky.year-2021) + readyDistrict[d]
			k := kindergartener{
				id:       fmt.Sprintf("S%02d%05d", ky.year%100, 10000+ids[i]),
				district: districtNames[d],
				school:   schools[d][r.intn(len(schools[d]))],
				date:     fallAssessmentDate(r, ky.year),
				race:     "9",
				frl:      "NA",
			}
			if race >= 0 {
				k.race = raceCodes[race]
				logit += readyRace[race]
			} else {
				logit += readyUnknown
			}
			if income >= 0 {
				k.frl = frlCodes[income]
				logit += readyIncome[income]
			} else if r.chance(0.3) {
				k.frl = "n/a"
			}
			ready := r.chance(sigmoid(logit))
			k.ready = strconv.FormatBool(ready)
			switch {
			case r.chance(0.035):
				k.score = "" // not all domains were scored
			case r.chance(0.005):
				k.score = "NA"
			default:
				mean := 55.0
				if ready {
					mean = 73
				}
				k.score = strconv.FormatFloat(min(100, max(20, math.Round((mean+8*r.norm())*10)/10)), 'f', 1, 64)
			}
			k.assessedOn = k.date.Format(time.DateOnly)
			year = append(year, k)
		}
		slices.SortFunc(year, func(a, b kindergartener) int {
			return cmp.Or(a.date.Compare(b.date), cmp.Compare(a.school, b.school), cmp.Compare(a.id, b.id))
		})
		rows = append(rows, year...)
	}

	// A few rows the ingestion must reject, as a real export has: race codes that map to
	// nothing, a date that does not exist and one typed by hand.
	byYear := func(year int) []kindergartener {
		lo := slices.IndexFunc(rows, func(k kindergartener) bool { return k.date.Year() == year })
		hi := slices.IndexFunc(rows, func(k kindergartener) bool { return k.date.Year() > year })
		if hi < 0 {
			hi = len(rows)
		}
		return rows[lo:hi]
	}
	for _, bad := range []struct {
		year int
		edit func(*kindergartener)
	}{
		{2022, func(k *kindergartener) { k.race = "8" }},
		{2022, func(k *kindergartener) { k.race = "8" }},
		{2024, func(k *kindergartener) { k.race = "8" }},
		{2023, func(k *kindergartener) { k.assessedOn = "2023-09-31" }},
		{2024, func(k *kindergartener) { k.assessedOn = k.date.Format("01/02/2006") }},
	} {
		ys := byYear(bad.year)
		bad.edit(&ys[r.intn(len(ys))])
	}

	w := csv.NewWriter(buf)
	if err := w.Write([]string{"student_id", "assessed_on", "school_district", "school", "race", "frl", "ready", "score"}); err != nil {
		return err
	}
	for _, k := range rows {
		if err := w.Write([]string{k.id, k.assessedOn, k.district, k.school, k.race, k.frl, k.ready, k.score}); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}

// fallAssessmentDate returns a school day between mid-August and mid-October of year.
func fallAssessmentDate(r *rng, year int) time.Time {
	start := time.Date(year, time.August, 18, 0, 0, 0, 0, time.UTC)
	for {
		d := start.AddDate(0, 0, r.intn(56))
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			return d
		}
	}
}
