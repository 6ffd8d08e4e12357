// Command gen-samples writes the data files of the Ready by Five example in
// config/samples/data: five partners' feeds about the young children of North County,
// a fictional Californian county, each in its own format.
//
//	go run ./hack/gen-samples -out config/samples/data
//
// The data is synthetic. It is drawn from one seeded model of the county (its districts,
// their race and income make-up, and the chances that shape each outcome), so the
// sources agree with each other the way real partners' data roughly does. Every run with
// the same seed writes the same bytes: randomness comes only from a PCG generator, tables
// are walked in fixed order, and no file records the time it was written. main_test.go
// holds the committed files to that.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// defaultSeed is the seed the committed files were generated with.
const defaultSeed = 20210801

func main() {
	out := flag.String("out", filepath.Join("config", "samples", "data"), "folder to write the data files to")
	seed := flag.Uint64("seed", defaultSeed, "random seed (the committed files use the default)")
	flag.Parse()
	if err := generate(*out, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "gen-samples:", err)
		os.Exit(1)
	}
}

// dataFile is one data file of the example and the function that renders it.
type dataFile struct {
	name  string
	write func(buf *bytes.Buffer, r *rng) error
}

// files are the example's data files. Each draws from its own random stream, so changing
// how one file is generated leaves the others' bytes alone.
var files = []dataFile{
	{"ncusd-kindergarten.csv", writeKindergarten},
	{"county-births.jsonl", writeBirths},
	{"census-population.parquet", writeCensus},
	{"children-hospital-asthma.xlsx", writeAsthma},
	{"family-resource-network.arrow", writeHomeVisits},
}

// generate writes every data file into dir.
func generate(dir string, seed uint64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i, f := range files {
		var buf bytes.Buffer
		if err := f.write(&buf, newRNG(seed, uint64(i+1))); err != nil {
			return fmt.Errorf("generating %s: %w", f.name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, f.name), buf.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// rng draws numbers from a PCG stream. Only the generator's raw 64-bit output is used, and
// every distribution is derived here, so the files do not depend on how a Go release
// implements math/rand/v2's helpers.
type rng struct{ pcg *rand.PCG }

func newRNG(seed, stream uint64) *rng { return &rng{rand.NewPCG(seed, stream)} }

// float returns a uniform number in [0, 1).
func (r *rng) float() float64 { return float64(r.pcg.Uint64()>>11) * 0x1p-53 }

// intn returns a uniform integer in [0, n).
func (r *rng) intn(n int) int {
	hi, _ := bits.Mul64(r.pcg.Uint64(), uint64(n))
	return int(hi)
}

// chance returns true with probability p.
func (r *rng) chance(p float64) bool { return r.float() < p }

// norm returns a standard normal deviate (Box–Muller).
func (r *rng) norm() float64 {
	u1 := 1 - r.float()
	u2 := r.float()
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// poisson returns a Poisson deviate with mean lambda: Knuth's method for small means, the
// normal approximation for large ones.
func (r *rng) poisson(lambda float64) int {
	if lambda <= 0 {
		return 0
	}
	if lambda > 30 {
		return max(0, int(math.Round(lambda+math.Sqrt(lambda)*r.norm())))
	}
	limit := math.Exp(-lambda)
	k, p := 0, 1.0
	for {
		p *= r.float()
		if p <= limit {
			return k
		}
		k++
	}
}

// pick returns index i with probability weights[i] / Σ weights.
func (r *rng) pick(weights []float64) int {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	u := r.float() * total
	for i, w := range weights {
		if u < w {
			return i
		}
		u -= w
	}
	return len(weights) - 1
}

// sigmoid is the logistic function, turning log-odds into a probability.
func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
