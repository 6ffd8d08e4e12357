package main

import (
	"bytes"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// The planning department's population estimates: children under 5 by year, district and
// race and ethnicity, in the Census Bureau's labels, with the county total published as
// district "ALL" (rows the DataSource excludes).

// censusRaces are the Census Bureau's labels, in the order of raceNames.
var censusRaces = [nRaces]string{
	"Non-Hispanic American Indian and Alaska Native alone",
	"Non-Hispanic Asian alone",
	"Non-Hispanic Black or African American alone",
	"Hispanic or Latino (any race)",
	"Non-Hispanic Native Hawaiian and Other Pacific Islander alone",
	"Non-Hispanic White alone",
	"Non-Hispanic Two or more races",
}

// censusSubtotal is the district value of the county's subtotal rows.
const censusSubtotal = "ALL"

func writeCensus(buf *bytes.Buffer, r *rng) error {
	mem := memory.NewGoAllocator()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "year", Type: arrow.PrimitiveTypes.Int64},
		{Name: "district", Type: arrow.BinaryTypes.String},
		{Name: "race_ethnicity", Type: arrow.BinaryTypes.String},
		{Name: "children_under_5", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	years := b.Field(0).(*array.Int64Builder)
	districts := b.Field(1).(*array.StringBuilder)
	races := b.Field(2).(*array.StringBuilder)
	children := b.Field(3).(*array.Int64Builder)

	for year := 2020; year <= 2024; year++ {
		var pop [nDistricts][nRaces]int64
		var total [nRaces]int64
		for d := range nDistricts {
			for race := range nRaces {
				p := expectedPopulation(d, race, year) * (1 + 0.02*r.norm())
				pop[d][race] = max(0, int64(math.Round(p)))
				total[race] += pop[d][race]
			}
		}
		add := func(district string, counts *[nRaces]int64) {
			for race := range nRaces {
				years.Append(int64(year))
				districts.Append(district)
				races.Append(censusRaces[race])
				children.Append(counts[race])
			}
		}
		add(censusSubtotal, &total)
		for d := range nDistricts {
			add(districtNames[d], &pop[d])
		}
	}

	rec := b.NewRecordBatch()
	defer rec.Release()
	props := parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithCreatedBy("North County Planning Department"),
		parquet.WithAllocator(mem),
	)
	w, err := pqarrow.NewFileWriter(schema, buf, props, pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem)))
	if err != nil {
		return err
	}
	if err := w.Write(rec); err != nil {
		return err
	}
	return w.Close()
}
