package main

// The county model every source draws from. Groups are indices into the tables below, in
// the order of the Initiative's vocabulary (config/samples/initiative.yaml).

// Race and ethnicity groups.
const (
	aian = iota // American Indian or Alaska Native
	asian
	black
	hispanic
	pacific // Pacific Islander
	white
	multiracial
	nRaces
)

// raceNames are the vocabulary's race_ethnicity values.
var raceNames = [nRaces]string{
	"American Indian or Alaska Native", "Asian", "Black", "Hispanic or Latino",
	"Pacific Islander", "White", "Multiracial",
}

// Income groups, lowest first.
const (
	belowPoverty = iota
	lowIncome
	notLowIncome
	nIncomes
)

// Districts.
const (
	northgate = iota
	riverside
	hillcrest
	lakeview
	pineValley
	nDistricts
)

// districtNames are the vocabulary's district values.
var districtNames = [nDistricts]string{"Northgate", "Riverside", "Hillcrest", "Lakeview", "Pine Valley"}

// districtShare is each district's share of the county's young children.
var districtShare = []float64{0.24, 0.34, 0.20, 0.14, 0.08}

// raceShare is the race and ethnicity make-up of each district's young children, in the
// order of raceNames. Weighted by districtShare it gives the county's: Hispanic or Latino
// 44 %, White 32 %, Asian 12 %, Black 5 %, Multiracial 5 %, American Indian or Alaska
// Native 1 %, Pacific Islander 0.5 %.
var raceShare = [nDistricts][]float64{
	northgate:  {0.008, 0.16, 0.04, 0.34, 0.005, 0.40, 0.047},
	riverside:  {0.008, 0.08, 0.08, 0.62, 0.007, 0.16, 0.045},
	hillcrest:  {0.005, 0.22, 0.03, 0.25, 0.004, 0.44, 0.051},
	lakeview:   {0.012, 0.08, 0.05, 0.50, 0.005, 0.30, 0.053},
	pineValley: {0.045, 0.03, 0.01, 0.33, 0.002, 0.53, 0.053},
}

// incomeByRace is the income make-up (below poverty, low income, not low income) of
// families with young children, by race and ethnicity.
var incomeByRace = [nRaces][nIncomes]float64{
	aian:        {0.35, 0.25, 0.40},
	asian:       {0.08, 0.12, 0.80},
	black:       {0.30, 0.25, 0.45},
	hispanic:    {0.30, 0.30, 0.40},
	pacific:     {0.25, 0.30, 0.45},
	white:       {0.08, 0.14, 0.78},
	multiracial: {0.15, 0.20, 0.65},
}

// incomeByDistrict tilts the income make-up of each district.
var incomeByDistrict = [nDistricts][nIncomes]float64{
	northgate:  {1.0, 1.0, 1.0},
	riverside:  {1.4, 1.2, 0.8},
	hillcrest:  {0.6, 0.8, 1.15},
	lakeview:   {1.1, 1.1, 0.95},
	pineValley: {1.3, 1.2, 0.85},
}

// incomeWeights returns the income weights of a family of race race in district d.
func incomeWeights(race, d int) []float64 {
	w := make([]float64, nIncomes)
	for i := range w {
		w[i] = incomeByRace[race][i] * incomeByDistrict[d][i]
	}
	return w
}

// drawRace returns a child's race group in district d, or -1 (unknown) with probability
// unknown.
func drawRace(r *rng, d int, unknown float64) int {
	if r.chance(unknown) {
		return -1
	}
	return r.pick(raceShare[d])
}

// childrenUnder5 is the county's population under 5 in 2020; it falls by about 1 % a year,
// as births in California do.
const childrenUnder5 = 25400

// populationTrend is the yearly factor of the population under 5.
const populationTrend = 0.989

// expectedPopulation is the model's population under 5 of one district and race in a year.
func expectedPopulation(d, race, year int) float64 {
	f := 1.0
	for y := 2020; y < year; y++ {
		f *= populationTrend
	}
	return childrenUnder5 * districtShare[d] * raceShare[d][race] * f
}
