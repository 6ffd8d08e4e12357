package workload

import (
	"fmt"
	"strconv"
	"time"
)

// Shape is one data set of the benchmark and the three indicators computed on it: a
// Count, a Mean and a Proportion, by its dimensions, per month.
type Shape struct {
	Name string
	// Indicator names: the Count, the Mean and the Proportion.
	Count, Mean, Proportion string
	// AsOf makes every period complete.
	AsOf time.Time
	// Groups are the columns of DuckDB's table that Backbone's cells are broken down by.
	Groups []GroupColumn
}

// GroupColumn is a column of DuckDB's table and the dimension it holds in Backbone.
type GroupColumn struct {
	Column, Dimension string
	// Label maps DuckDB's value to Backbone's group name (nil: the same).
	Label func(string) string
}

// Key is Backbone's breakdown of a DuckDB group: "dimension=group".
func (g GroupColumn) Key(value string) string {
	if g.Label != nil {
		value = g.Label(value)
	}
	return g.Dimension + "=" + value
}

// Shapes are the benchmark's data sets by name.
var Shapes = map[string]Shape{
	"readiness": {
		Name: "readiness", Count: IndCount, Mean: IndMean, Proportion: IndProportion, AsOf: AsOf,
		Groups: []GroupColumn{
			{Column: ColRace, Dimension: DimRace, Label: func(v string) string {
				code, err := strconv.Atoi(v)
				if err != nil {
					return "?" + v
				}
				return RaceLabel(code)
			}},
			{Column: ColDistrict, Dimension: DimDistrict},
		},
	},
	"flights": {
		Name: "flights", Count: FlIndCount, Mean: FlIndMean, Proportion: FlIndProportion, AsOf: FlightsAsOf,
		Groups: []GroupColumn{{Column: FlColOrigin, Dimension: DimOrigin}},
	},
}

// ShapeNamed returns the shape called name.
func ShapeNamed(name string) (Shape, error) {
	s, ok := Shapes[name]
	if !ok {
		return Shape{}, fmt.Errorf("no shape %q (readiness, flights)", name)
	}
	return s, nil
}
