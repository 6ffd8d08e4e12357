package main

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// The family resource network's home-visiting records, exported from its case-management
// system as an Arrow IPC file: one row per enrolled family and month with at least one
// home visit, stamped with the local time of the month's first visit and counting the
// visits made. Income is the family's band of the federal poverty level, when reported.
// The programme started in July 2021.

// fplBands are the network's income labels, by income group.
var fplBands = [nIncomes]string{"<100% FPL", "100-199% FPL", "200%+ FPL"}

// Enrolment: families referred each month, their income and district (the programme
// reaches the districts with the most families in poverty), and how long they stay.
var (
	homeVisitStart    = time.Date(2021, time.July, 1, 0, 0, 0, 0, time.UTC)
	homeVisitMonths   = 54 // July 2021 to December 2025
	enrolmentsMonthly = 13.0
	// enrolmentsGrowth adds referrals each month as the programme becomes known.
	enrolmentsGrowth = 0.12
	// familyIncome weighs the income groups, then "Not reported", then a blank.
	familyIncome   = []float64{0.55, 0.28, 0.08, 0.04, 0.05}
	familyDistrict = [nDistricts]float64{northgate: 0.15, riverside: 0.45, hillcrest: 0.08, lakeview: 0.2, pineValley: 0.12}
	// Home visitors reach rural Pine Valley less often, and families in deep poverty, who
	// move and change phone numbers more, a little less often.
	visitsDistrict = [nDistricts]float64{pineValley: -0.1}
	visitsPoverty  = -0.04
)

type homeVisitRow struct {
	family   string
	visitOn  time.Time
	income   string // "" is null
	district string
	visits   int64
}

func writeHomeVisits(buf *bytes.Buffer, r *rng) error {
	var rows []homeVisitRow
	next := 10001
	for start := range homeVisitMonths {
		for range r.poisson(enrolmentsMonthly + enrolmentsGrowth*float64(start)) {
			id := fmt.Sprintf("FRN-%05d", next)
			next++
			d := r.pick(familyDistrict[:])
			income := ""
			reach := visitsDistrict[d]
			switch i := r.pick(familyIncome); {
			case i < nIncomes:
				income = fplBands[i]
				if i == belowPoverty {
					reach += visitsPoverty
				}
			case i == nIncomes:
				income = "Not reported"
			}
			stay := min(36, 3+int(-10*math.Log(1-r.float())))
			for m := start; m < min(start+stay, homeVisitMonths); m++ {
				if r.chance(0.06) {
					continue // no visit this month
				}
				// One visit, and up to three more, each with a chance that rises as the
				// programme matures.
				p := 0.35 + 0.004*float64(m) + reach
				visits := int64(1)
				for range 3 {
					if r.chance(p) {
						visits++
					}
				}
				month := homeVisitStart.AddDate(0, m, 0)
				day := month.AddDate(0, 0, r.intn(10))
				for day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
					day = day.AddDate(0, 0, 1)
				}
				at := day.Add(time.Duration(8+r.intn(10))*time.Hour + time.Duration(15*r.intn(4))*time.Minute)
				rows = append(rows, homeVisitRow{family: id, visitOn: at, income: income, district: districtNames[d], visits: visits})
			}
		}
	}
	slices.SortFunc(rows, func(a, b homeVisitRow) int {
		return cmp.Or(a.visitOn.Compare(b.visitOn), cmp.Compare(a.family, b.family))
	})

	mem := memory.NewGoAllocator()
	// visit_on is local time without a zone, as the case-management system records it.
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "family_id", Type: arrow.BinaryTypes.String},
		{Name: "visit_on", Type: &arrow.TimestampType{Unit: arrow.Second}},
		{Name: "income", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "district", Type: arrow.BinaryTypes.String},
		{Name: "visits", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	w, err := ipc.NewFileWriter(buf, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	if err != nil {
		return err
	}
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	const batch = 2048
	for lo := 0; lo < len(rows); lo += batch {
		for _, row := range rows[lo:min(lo+batch, len(rows))] {
			b.Field(0).(*array.StringBuilder).Append(row.family)
			b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(row.visitOn.Unix()))
			if row.income == "" {
				b.Field(2).(*array.StringBuilder).AppendNull()
			} else {
				b.Field(2).(*array.StringBuilder).Append(row.income)
			}
			b.Field(3).(*array.StringBuilder).Append(row.district)
			b.Field(4).(*array.Int64Builder).Append(row.visits)
		}
		rec := b.NewRecordBatch()
		err := w.Write(rec)
		rec.Release()
		if err != nil {
			return err
		}
	}
	return w.Close()
}
