package main

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"
)

// The children's hospital's extract of emergency-department visits for asthma by young
// residents of the county: a workbook whose first sheet describes the extract and whose
// "ED visits" sheet holds one row per visit under a title, a note and a header on row 3.
// The extract covers ages 0–5; the indicator keeps children under 5.

// asthmaSheet is the name of the data sheet.
const asthmaSheet = "ED visits"

// asthmaHeaderRow is the 1-based row of the data sheet's column names.
const asthmaHeaderRow = 3

// hospitalRaces are the hospital's race labels, in the order of raceNames.
var hospitalRaces = [nRaces]string{
	"American Indian or Alaska Native", "Asian", "Black or African American", "Hispanic",
	"Native Hawaiian or Other Pacific Islander", "White", "Multiple",
}

// Emergency-department visits for asthma per 1,000 children under 5 a year: a base rate,
// multiplied by district (housing near the freeway and the port) and by race, falling a
// little each year.
var (
	asthmaBase     = 11.0
	asthmaTrend    = 0.95
	asthmaDistrict = [nDistricts]float64{northgate: 0.85, riverside: 1.55, hillcrest: 0.65, lakeview: 1.2, pineValley: 0.9}
	asthmaRace     = [nRaces]float64{aian: 1.5, asian: 0.6, black: 2.4, hispanic: 1.1, pacific: 1.3, white: 0.8, multiracial: 1.2}
	// asthmaSeason is the relative number of visits in each calendar month (mean 1).
	asthmaSeason = [12]float64{1.15, 1.05, 0.95, 0.85, 0.8, 0.6, 0.6, 0.8, 1.45, 1.3, 1.2, 1.25}
	// asthmaAges weighs the ages 0–4 of a visit; visits at age 5 come on top, at asthmaAge5
	// times the rate of the under-5s.
	asthmaAges = []float64{0.10, 0.22, 0.24, 0.23, 0.21}
	asthmaAge5 = 0.2
)

// asthmaDiagnoses are the ICD-10-CM codes of the visits' primary diagnosis.
var asthmaDiagnoses = []string{"J45.901", "J45.901", "J45.901", "J45.902", "J45.21", "J45.31", "J45.41", "J45.51"}

type edVisit struct {
	date     time.Time
	age      int
	race     string
	district string
	dx       string
}

func writeAsthma(buf *bytes.Buffer, r *rng) error {
	var visits []edVisit
	for year := 2021; year <= 2025; year++ {
		trend := 1.0
		for y := 2021; y < year; y++ {
			trend *= asthmaTrend
		}
		for month := time.January; month <= time.December; month++ {
			days := time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
			for d := range nDistricts {
				for race := range nRaces {
					rate := asthmaBase * trend * asthmaDistrict[d] * asthmaRace[race]
					lambda := rate / 1000 * expectedPopulation(d, race, year) / 12 * asthmaSeason[month-1]
					under5 := r.poisson(lambda)
					age5 := r.poisson(lambda * asthmaAge5)
					for i := range under5 + age5 {
						v := edVisit{
							date:     time.Date(year, month, 1+r.intn(days), 0, 0, 0, 0, time.UTC),
							age:      5,
							race:     hospitalRaces[race],
							district: districtNames[d],
							dx:       asthmaDiagnoses[r.intn(len(asthmaDiagnoses))],
						}
						if i < under5 {
							v.age = r.pick(asthmaAges)
						}
						if r.chance(0.03) {
							v.race = []string{"Declined", "Unknown"}[r.intn(2)]
						}
						if r.chance(0.02) {
							v.district = strings.ToUpper(v.district)
						}
						visits = append(visits, v)
					}
				}
			}
		}
	}
	slices.SortStableFunc(visits, func(a, b edVisit) int { return cmp.Compare(a.date.Unix(), b.date.Unix()) })

	rows := make([][]any, len(visits))
	for i, v := range visits {
		rows[i] = []any{fmt.Sprintf("NCH-%06d", 104211+i), v.date, v.age, v.race, v.district, v.dx}
	}
	// Rows the ingestion must reject: a race the hospital added without telling anyone and a
	// visit whose date was never filled in.
	rows[r.intn(len(rows))][3] = "Other"
	rows[r.intn(len(rows))][3] = "Other"
	rows[r.intn(len(rows))][1] = "pending"

	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetDocProps(&excelize.DocProperties{
		Title:          "Pediatric asthma ED visits, North County residents",
		Creator:        "North County Children's Hospital",
		LastModifiedBy: "North County Children's Hospital",
		Created:        "2026-01-15T08:00:00Z",
		Modified:       "2026-01-15T08:00:00Z",
		Language:       "en-US",
	}); err != nil {
		return err
	}
	if err := f.SetSheetName("Sheet1", "About"); err != nil {
		return err
	}
	about := []string{
		"Pediatric asthma emergency department visits",
		"North County Children's Hospital, Quality and Population Health",
		"",
		"One row per ED visit with a primary diagnosis of asthma (ICD-10-CM J45) by a North County resident aged 0-5.",
		"visit_date: date of arrival. age_years: age at arrival. race: as recorded at registration.",
		"district: district of residence, from the patient's address.",
		"Extracted 2026-01-15. The data sheet is \"" + asthmaSheet + "\".",
	}
	for i, line := range about {
		if err := f.SetCellValue("About", fmt.Sprintf("A%d", i+1), line); err != nil {
			return err
		}
	}

	if _, err := f.NewSheet(asthmaSheet); err != nil {
		return err
	}
	if err := f.SetCellValue(asthmaSheet, "A1", "Asthma ED visits, ages 0-5, North County residents, 2021-2025"); err != nil {
		return err
	}
	if err := f.SetCellValue(asthmaSheet, "A2", "Extracted 2026-01-15 from the emergency department registry"); err != nil {
		return err
	}
	header := []any{"encounter_id", "visit_date", "age_years", "race", "district", "primary_dx"}
	if err := f.SetSheetRow(asthmaSheet, fmt.Sprintf("A%d", asthmaHeaderRow), &header); err != nil {
		return err
	}
	for i, row := range rows {
		if err := f.SetSheetRow(asthmaSheet, fmt.Sprintf("A%d", asthmaHeaderRow+1+i), &row); err != nil {
			return err
		}
	}
	dateFormat := "yyyy-mm-dd"
	dateStyle, err := f.NewStyle(&excelize.Style{CustomNumFmt: &dateFormat})
	if err != nil {
		return err
	}
	last := asthmaHeaderRow + len(rows)
	if err := f.SetCellStyle(asthmaSheet, fmt.Sprintf("B%d", asthmaHeaderRow+1), fmt.Sprintf("B%d", last), dateStyle); err != nil {
		return err
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	if err := f.SetCellStyle(asthmaSheet, fmt.Sprintf("A%d", asthmaHeaderRow), fmt.Sprintf("F%d", asthmaHeaderRow), bold); err != nil {
		return err
	}
	for _, c := range []struct {
		col   string
		width float64
	}{{"A", 14}, {"B", 12}, {"C", 10}, {"D", 40}, {"E", 14}, {"F", 12}} {
		if err := f.SetColWidth(asthmaSheet, c.col, c.col, c.width); err != nil {
			return err
		}
	}
	// Readers that size the sheet from its dimension see every row.
	if err := f.SetSheetDimension("About", fmt.Sprintf("A1:A%d", len(about))); err != nil {
		return err
	}
	if err := f.SetSheetDimension(asthmaSheet, fmt.Sprintf("A1:F%d", last)); err != nil {
		return err
	}
	return f.Write(buf)
}
