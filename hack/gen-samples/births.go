package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
)

// The health department's birth records, published as an aggregated table: one JSON
// object per month, district, mother's race and whether prenatal care began in the first
// trimester, with the number of births it stands for. Race is typed as text by several
// clerks, so the same group comes with different case and stray spaces; "*" and "N/A"
// mark unknown values.

// birthsPerMonth is the county's births in a month of 2021; they fall by about 1 % a year.
const birthsPerMonth = 415

// birthSeason is the relative number of births in each calendar month.
var birthSeason = [12]float64{0.96, 0.90, 0.98, 0.96, 1.00, 1.00, 1.06, 1.07, 1.05, 1.02, 0.97, 1.03}

// Log-odds of prenatal care beginning in the first trimester.
var (
	prenatalBase     = 1.55
	prenatalTrend    = 0.04
	prenatalRace     = [nRaces]float64{aian: -0.75, asian: 0.3, black: -0.55, hispanic: -0.3, pacific: -0.5, white: 0.4, multiracial: 0}
	prenatalUnknown  = -0.6
	prenatalDistrict = [nDistricts]float64{northgate: 0.1, riverside: -0.3, hillcrest: 0.3, lakeview: 0, pineValley: -0.45}
)

// birthRow is one line of the file. Fields are written in this order.
type birthRow struct {
	BirthDate string `json:"birth_date"`
	District  string `json:"district"`
	Race      any    `json:"mother_race"`
	Prenatal  any    `json:"prenatal_first_trimester"`
	Births    int    `json:"births"`
}

func writeBirths(buf *bytes.Buffer, r *rng) error {
	enc := json.NewEncoder(buf)
	for year := 2021; year <= 2025; year++ {
		for month := time.January; month <= time.December; month++ {
			// counts[district][race, unknown last][first trimester: yes, no, unknown]
			var counts [nDistricts][nRaces + 1][3]int
			trend := 1.0
			for y := 2021; y < year; y++ {
				trend *= 0.99
			}
			n := r.poisson(birthsPerMonth * birthSeason[month-1] * trend)
			for range n {
				d := r.pick(districtShare)
				race := drawRace(r, d, 0.02)
				logit := prenatalBase + prenatalTrend*float64(year-2021) + prenatalDistrict[d]
				ri := nRaces
				if race >= 0 {
					ri = race
					logit += prenatalRace[race]
				} else {
					logit += prenatalUnknown
				}
				care := 2
				if !r.chance(0.015) {
					care = 1
					if r.chance(sigmoid(logit)) {
						care = 0
					}
				}
				counts[d][ri][care]++
			}
			date := time.Date(year, month, 1, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
			for d := range nDistricts {
				for ri := range nRaces + 1 {
					for care := range 3 {
						if counts[d][ri][care] == 0 {
							continue
						}
						row := birthRow{BirthDate: date, District: districtNames[d], Births: counts[d][ri][care]}
						if ri < nRaces {
							row.Race = typedRace(r, raceNames[ri])
						} else {
							row.Race = []any{"*", "N/A", nil}[r.intn(3)]
						}
						switch care {
						case 0:
							row.Prenatal = true
						case 1:
							row.Prenatal = false
						default:
							row.Prenatal = []any{"N/A", nil}[r.intn(2)]
						}
						if err := enc.Encode(row); err != nil {
							return err
						}
					}
				}
			}
		}
	}
	return nil
}

// typedRace returns name mostly as it is, and sometimes as a clerk might type it.
func typedRace(r *rng, name string) string {
	if !r.chance(0.15) {
		return name
	}
	switch r.intn(4) {
	case 0:
		return " " + strings.ToLower(name)
	case 1:
		return strings.ToUpper(name)
	case 2:
		return name + " "
	default:
		return strings.ToLower(name)
	}
}
