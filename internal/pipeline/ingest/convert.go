package ingest

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/backbone-dev/backbone/internal/pipeline/period"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
)

// column holds one declared column's converted values for one batch.
type column struct {
	spec spec.Column
	// groups of a dimension column, code order, the unknown group last.
	groups  []string
	unknown uint16
	lookup  map[string]lookedUp // raw value → code, filled lazily
	canon   map[string]uint16   // folded canonical value → code
	// recent caches lookup's answers by a hash of the value's length and end bytes: a
	// partner's few spellings of a group hit it without hashing the whole string. Its
	// strings are lookup's own keys, never a value of the batch: a batch's strings point
	// into Arrow buffers that are recycled once the batch is released, and a cached
	// string that changed under the cache would map the next value to a wrong group.
	recent [256]lookedUp

	loc    *time.Location
	layout string
	zone   zoneSpan // the zone's span of constant offset found last (timestamps)

	// Per-batch outputs (length = batch rows).
	valid []bool
	codes []uint16  // dimension
	ints  []int64   // Integer, Timestamp (µs since epoch, UTC)
	days  []int32   // Date, Timestamp (local day number)
	nums  []float64 // Number
	bools []bool    // Boolean
	strs  []string  // String (non-dimension)
	// src is the batch's input array (valid until the next batch).
	src arrow.Array
}

// failure is one cell that failed validation.
type failure struct {
	row    int // index in the batch
	column string
	value  string
	reason string
}

func newColumn(c spec.Column, dims []spec.Dimension, loc *time.Location) (*column, error) {
	col := &column{spec: c, loc: loc, layout: c.Format}
	if c.Dimension != "" {
		var d *spec.Dimension
		for i := range dims {
			if dims[i].Name == c.Dimension {
				d = &dims[i]
			}
		}
		if d == nil {
			return nil, fmt.Errorf("column %q: dimension %q is not in the vocabulary", c.Name, c.Dimension)
		}
		col.groups = d.Groups()
		col.unknown = uint16(d.UnknownCode())
		col.lookup = map[string]lookedUp{}
		col.canon = map[string]uint16{}
		for code, g := range col.groups {
			col.canon[fold(g)] = uint16(code)
		}
		for raw, g := range c.ValueMap {
			code, ok := col.canon[fold(g)]
			if !ok {
				return nil, fmt.Errorf("column %q: valueMap sends %q to %q, not a group of %q", c.Name, raw, g, d.Name)
			}
			col.lookup[raw] = lookedUp{s: raw, code: code, ok: true}
		}
	}
	return col, nil
}

// lookedUp is the code of a raw value; s is the value, held in memory of its own.
type lookedUp struct {
	s    string
	code uint16
	ok   bool
}

func recentSlot(s string) uint8 {
	if s == "" {
		return 0
	}
	return uint8(len(s)*31) ^ s[0]*7 ^ s[len(s)-1]
}

// markers are a partner's missing-value markers. A value is missing when it, or it with
// surrounding spaces trimmed, is a marker.
type markers struct {
	set map[string]bool
	// lens says which lengths below 64 bytes markers have; any says one is longer.
	lens [64]bool
	any  bool
}

func newMarkers(values []string) *markers {
	m := &markers{set: map[string]bool{}}
	for _, v := range values {
		m.set[v] = true
		if len(v) < len(m.lens) {
			m.lens[len(v)] = true
		} else {
			m.any = true
		}
	}
	return m
}

func (m *markers) is(s string) bool {
	if !m.any && (len(s) >= len(m.lens) || !m.lens[len(s)]) {
		return false
	}
	return m.set[s]
}

func (m *markers) has(s string) bool {
	if len(m.set) == 0 {
		return false
	}
	if m.is(s) {
		return true
	}
	// Only a value that starts or ends with a space (or a non-ASCII byte, which may begin
	// a Unicode space) can differ from its trimmed form.
	if s == "" || (!maybeSpace(s[0]) && !maybeSpace(s[len(s)-1])) {
		return false
	}
	return m.is(strings.TrimSpace(s))
}

func maybeSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\v' || b == '\f' || b >= 0x80
}

// fold is the canonical form values are matched in: case-insensitive, surrounding spaces
// ignored, inner runs of spaces collapsed.
func fold(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

func (c *column) reset(n int) {
	c.valid = grow(c.valid, n)
	switch {
	case c.spec.Dimension != "":
		c.codes = grow(c.codes, n)
	case c.spec.Type == spec.TypeInteger:
		c.ints = grow(c.ints, n)
	case c.spec.Type == spec.TypeNumber:
		c.nums = grow(c.nums, n)
	case c.spec.Type == spec.TypeBoolean:
		c.bools = grow(c.bools, n)
	case c.spec.Type == spec.TypeDate:
		c.days = grow(c.days, n)
	case c.spec.Type == spec.TypeTimestamp:
		c.days = grow(c.days, n)
		c.ints = grow(c.ints, n)
	default:
		c.strs = grow(c.strs, n)
	}
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// convert validates and converts one input array. missing holds the partner's markers.
// Failures are appended to fails; the row stays in the batch and the caller rejects it.
func (c *column) convert(arr arrow.Array, missing *markers, fails []failure) []failure {
	n := arr.Len()
	c.reset(n)
	c.src = arr
	if a, ok := arr.(*array.Int64); ok && c.spec.Type == spec.TypeInteger && c.spec.Dimension == "" {
		return c.convertInt64(a, fails)
	}
	text, isText := textOf(arr)
	for i := 0; i < n; i++ {
		null := arr.IsNull(i)
		var s string
		if !null && isText {
			s = text(i)
			if missing.has(s) {
				null = true
			}
		}
		if null {
			c.valid[i] = false
			if c.spec.Dimension != "" {
				c.codes[i] = c.unknown
				c.valid[i] = true // nulls are the unknown group, not missing
				continue
			}
			c.clear(i)
			if c.spec.Required {
				fails = append(fails, failure{i, c.spec.Name, "", "required value is missing"})
			}
			continue
		}
		c.valid[i] = true
		var reason string
		if isText {
			reason = c.parse(i, s)
		} else {
			reason = c.native(i, arr)
		}
		if reason != "" {
			c.valid[i] = false
			if !isText {
				s = arr.ValueStr(i)
			}
			fails = append(fails, failure{i, c.spec.Name, s, reason})
		}
	}
	return fails
}

// convertInt64 is convert for an Integer column read as int64 (Parquet, Arrow IPC): every
// value is one, so the column is copied, only its nulls looked at.
func (c *column) convertInt64(a *array.Int64, fails []failure) []failure {
	n := a.Len()
	copy(c.ints[:n], a.Int64Values()[:n])
	for i := range c.valid[:n] {
		c.valid[i] = true
	}
	if a.NullN() == 0 {
		return fails
	}
	for i := 0; i < n; i++ {
		if a.IsNull(i) {
			c.valid[i] = false
			c.clear(i)
			if c.spec.Required {
				fails = append(fails, failure{i, c.spec.Name, "", "required value is missing"})
			}
		}
	}
	return fails
}

// clear zeroes row i's value, which is null: the engine layout's buffers hold zeros under
// nulls, whatever the input's format and the batch before.
func (c *column) clear(i int) {
	switch c.spec.Type {
	case spec.TypeInteger:
		c.ints[i] = 0
	case spec.TypeNumber:
		c.nums[i] = 0
	case spec.TypeBoolean:
		c.bools[i] = false
	case spec.TypeDate:
		c.days[i] = 0
	case spec.TypeTimestamp:
		c.days[i], c.ints[i] = 0, 0
	default:
		c.strs[i] = ""
	}
}

// textOf returns an accessor when arr holds text (string or dictionary of strings).
func textOf(arr arrow.Array) (func(int) string, bool) {
	switch a := arr.(type) {
	case *array.String:
		return a.Value, true
	case *array.LargeString:
		return a.Value, true
	case *array.StringView:
		return a.Value, true
	case *array.Dictionary:
		if d, ok := a.Dictionary().(*array.String); ok {
			return func(i int) string { return d.Value(a.GetValueIndex(i)) }, true
		}
	}
	return nil, false
}

// parse converts a text value; it returns the reason when the value is invalid.
func (c *column) parse(i int, s string) string {
	if c.spec.Dimension != "" {
		slot := &c.recent[recentSlot(s)]
		if slot.ok && slot.s == s {
			c.codes[i] = slot.code
			return ""
		}
		if hit, ok := c.lookup[s]; ok {
			*slot = hit
			c.codes[i] = hit.code
			return ""
		}
		hit, ok := c.lookup[strings.TrimSpace(s)]
		code := hit.code
		if !ok {
			code, ok = c.canon[fold(s)]
		}
		if !ok {
			return fmt.Sprintf("%q is not a group of dimension %q and is not in valueMap", s, c.spec.Dimension)
		}
		hit = lookedUp{s: strings.Clone(s), code: code, ok: true}
		c.lookup[hit.s] = hit
		*slot = hit
		c.codes[i] = code
		return ""
	}
	t := strings.TrimSpace(s)
	switch c.spec.Type {
	case spec.TypeInteger:
		if !plainNumeral(t) {
			return notNumeral(s, t, "an integer")
		}
		v, err := strconv.ParseInt(t, 10, 64)
		if err != nil {
			// Accept integral decimals such as "12.0" that spreadsheets write.
			f, ferr := strconv.ParseFloat(t, 64)
			if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
				return fmt.Sprintf("%q is not an integer", s)
			}
			v = int64(f)
		}
		c.ints[i] = v
	case spec.TypeNumber:
		if !plainNumeral(t) {
			return notNumeral(s, t, "a number")
		}
		v, err := strconv.ParseFloat(t, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Sprintf("%q is not a number", s)
		}
		c.nums[i] = v
	case spec.TypeBoolean:
		switch strings.ToLower(t) {
		case "true", "t", "yes", "y", "1":
			c.bools[i] = true
		case "false", "f", "no", "n", "0":
			c.bools[i] = false
		default:
			return fmt.Sprintf("%q is not a boolean (true/false, yes/no, 1/0)", s)
		}
	case spec.TypeDate:
		d, ok := c.parseDate(t)
		if !ok {
			return fmt.Sprintf("%q is not a date (%s)", s, c.dateLayout())
		}
		c.days[i] = d
	case spec.TypeTimestamp:
		us, day, ok := c.timestamp(t)
		if !ok {
			return fmt.Sprintf("%q is not a timestamp (%s)", s, c.timestampLayout())
		}
		c.ints[i], c.days[i] = us, day
	default:
		c.strs[i] = s
	}
	return ""
}

func (c *column) dateLayout() string {
	if c.layout != "" {
		return "layout " + c.layout
	}
	return "YYYY-MM-DD"
}

func (c *column) timestampLayout() string {
	if c.layout != "" {
		return "layout " + c.layout
	}
	return "RFC 3339, e.g. 2025-03-01T08:30:00-08:00, or without an offset in the Initiative's time zone"
}

func (c *column) parseDate(s string) (int32, bool) {
	if c.layout == "" {
		if y, m, d, ok := isoDate(s); ok {
			return period.DaysFromCivil(y, m, d), true
		}
		return 0, false
	}
	t, err := time.Parse(c.layout, s)
	if err != nil {
		return 0, false
	}
	return dayOf(t), true
}

func (c *column) parseTimestamp(s string) (time.Time, bool) {
	if c.layout != "" {
		t, err := time.ParseInLocation(c.layout, s, c.loc)
		return t, err == nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05Z07:00", "2006-01-02T15:04:05.999999999Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, c.loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// timestamp returns a timestamp's µs since the epoch and the day number of its date in
// the Initiative's zone.
func (c *column) timestamp(s string) (us int64, day int32, ok bool) {
	if c.layout == "" {
		if f, ok := localISO(s); ok {
			us, day := c.local(f)
			return us, day, true
		}
	}
	t, ok := c.parseTimestamp(s)
	if !ok {
		return 0, 0, false
	}
	return t.UnixMicro(), dayOf(t.In(c.loc)), true
}

// localFields are the fields of a timestamp written without an offset.
type localFields struct {
	y, mo, d, h, mi, sec, nsec int
}

// localISO parses, without allocating, the forms of a timestamp without an offset that
// are written most: YYYY-MM-DD, a space or T, then HH:MM, HH:MM:SS or HH:MM:SS followed by
// a period and 1 to 9 digits, every field with its digits and in range. Any other text
// (offsets, one-digit hours, commas, more digits) is left to time.Parse.
func localISO(s string) (localFields, bool) {
	var f localFields
	if len(s) != 16 && len(s) < 19 || len(s) == 20 || len(s) > 29 {
		return f, false
	}
	var ok bool
	if f.y, f.mo, f.d, ok = isoDate(s[:10]); !ok || s[10] != ' ' && s[10] != 'T' || s[13] != ':' {
		return f, false
	}
	var ok1, ok2 bool
	f.h, ok1 = twoDigits(s[11:13])
	f.mi, ok2 = twoDigits(s[14:16])
	if !ok1 || !ok2 || f.h > 23 || f.mi > 59 {
		return f, false
	}
	if len(s) == 16 {
		return f, true
	}
	if f.sec, ok = twoDigits(s[17:19]); s[16] != ':' || !ok || f.sec > 59 {
		return f, false
	}
	if len(s) == 19 {
		return f, true
	}
	if s[19] != '.' {
		return f, false
	}
	frac := s[20:]
	for j := 0; j < 9; j++ {
		f.nsec *= 10
		if j < len(frac) {
			b := frac[j]
			if b < '0' || b > '9' {
				return f, false
			}
			f.nsec += int(b - '0')
		}
	}
	return f, true
}

// wallClock is local for a typed timestamp without a zone (Parquet, Arrow IPC), v in unit
// since the epoch as if the wall clock were UTC: the instant, as time.Date gives it, in µs,
// and the day written. Within years 1–9999 it goes through local, the span of constant
// offset found last; beyond them time.Date decides.
func (c *column) wallClock(v int64, unit arrow.TimeUnit) (int64, int32) {
	ns := int64(unit.Multiplier()) // nanoseconds a unit
	perSec := int64(time.Second) / ns
	sec := floorDiv64(v, perSec)
	nsec := (v - sec*perSec) * ns
	day := floorDiv64(sec, 86400)
	if day >= minCivilDay && day <= maxCivilDay {
		rest := int(sec - day*86400)
		y, mo, d := period.CivilFromDays(int32(day))
		return c.local(localFields{y: y, mo: mo, d: d, h: rest / 3600, mi: rest % 3600 / 60, sec: rest % 60, nsec: int(nsec)})
	}
	t := arrow.Timestamp(v).ToTime(unit)
	t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), c.loc)
	return t.UnixMicro(), dayOf(t.In(c.loc))
}

// The days of 0001-01-01 and 9999-12-31: within them a day number is an int32 and a
// civil date four digits.
var (
	minCivilDay = int64(period.DaysFromCivil(1, 1, 1))
	maxCivilDay = int64(period.DaysFromCivil(9999, 12, 31))
)

func floorDiv64(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// zoneSpan is one span of the Initiative's zone with a constant offset: [start, end) in
// seconds since the epoch.
type zoneSpan struct {
	start, end, offset int64
	ok                 bool
}

// local is the instant of a local time in the Initiative's zone, as time.Date (and so
// time.ParseInLocation) normalises it, in µs since the epoch, and its day number. Within
// the span of constant offset found last, time.Date's answer is the local time minus that
// offset and the date is the one written: no zone lookup, no calendar arithmetic. Near a
// transition, and on the first value, time.Date decides.
func (c *column) local(f localFields) (int64, int32) {
	day := period.DaysFromCivil(f.y, f.mo, f.d)
	l := int64(day)*86400 + int64(f.h*3600+f.mi*60+f.sec)
	z := &c.zone
	// time.Date looks up the zone at l as if it were UTC, then checks l - offset is in
	// the same span: when both are in the cached span, it returns l - offset.
	if z.ok && l >= z.start && l < z.end && l-z.offset >= z.start && l-z.offset < z.end {
		return (l-z.offset)*1_000_000 + int64(f.nsec/1000), day
	}
	t := time.Date(f.y, time.Month(f.mo), f.d, f.h, f.mi, f.sec, f.nsec, c.loc)
	at := time.Unix(l, 0).In(c.loc)
	_, off := at.Zone()
	start, end := at.ZoneBounds()
	*z = zoneSpan{start: math.MinInt64, end: math.MaxInt64, offset: int64(off), ok: true}
	if !start.IsZero() {
		z.start = start.Unix()
	}
	if !end.IsZero() {
		z.end = end.Unix()
	}
	return t.UnixMicro(), dayOf(t.In(c.loc))
}

func twoDigits(s string) (int, bool) {
	a, b := s[0], s[1]
	if a < '0' || a > '9' || b < '0' || b > '9' {
		return 0, false
	}
	return int(a-'0')*10 + int(b-'0'), true
}

// native converts a value of a typed Arrow array (Parquet, Arrow IPC inputs); it returns
// the reason when the value cannot be one of the column's type. A dictionary-encoded
// value is converted as its dictionary's value.
func (c *column) native(i int, arr arrow.Array) string {
	j := i // the value's index in arr
	if d, ok := arr.(*array.Dictionary); ok {
		arr, j = d.Dictionary(), d.GetValueIndex(i)
	}
	switch c.spec.Type {
	case spec.TypeInteger:
		v, why := intOf(arr, j)
		if why != "" {
			return why
		}
		c.ints[i] = v
	case spec.TypeNumber:
		v, why := floatOf(arr, j)
		if why != "" {
			return why
		}
		c.nums[i] = v
	case spec.TypeBoolean:
		b, ok := arr.(*array.Boolean)
		if !ok {
			return fmt.Sprintf("a %s value is not a boolean: the column holds %s values", arr.DataType(), arr.DataType())
		}
		c.bools[i] = b.Value(j)
	case spec.TypeDate:
		switch a := arr.(type) {
		case *array.Date32:
			c.days[i] = int32(a.Value(j))
		case *array.Date64:
			c.days[i] = int32(int64(a.Value(j)) / 86400000)
		case *array.Timestamp:
			t := a.Value(j).ToTime(a.DataType().(*arrow.TimestampType).Unit)
			c.days[i] = dayOf(t)
		default:
			return fmt.Sprintf("a %s value is not a date: the column holds %s values", arr.DataType(), arr.DataType())
		}
	case spec.TypeTimestamp:
		switch a := arr.(type) {
		case *array.Timestamp:
			tt := a.DataType().(*arrow.TimestampType)
			if tt.TimeZone == "" {
				// A timestamp without a zone is local time in the Initiative's zone.
				c.ints[i], c.days[i] = c.wallClock(int64(a.Value(j)), tt.Unit)
				break
			}
			t := a.Value(j).ToTime(tt.Unit)
			c.ints[i] = t.UnixMicro()
			c.days[i] = dayOf(t.In(c.loc))
		case *array.Date32:
			t := time.Unix(int64(a.Value(j))*86400, 0).UTC()
			t = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, c.loc)
			c.ints[i] = t.UnixMicro()
			c.days[i] = int32(a.Value(j))
		default:
			return fmt.Sprintf("a %s value is not a timestamp: the column holds %s values", arr.DataType(), arr.DataType())
		}
	default:
		if c.spec.Dimension != "" {
			v, why := intOf(arr, j)
			if why != "" {
				return fmt.Sprintf("%s, so it cannot be a group of dimension %q", why, c.spec.Dimension)
			}
			return c.parse(i, strconv.FormatInt(v, 10))
		}
		c.strs[i] = arr.ValueStr(j)
	}
	return ""
}

// maxExactFloat is the largest integer up to which every integer is a float64 exactly.
const maxExactFloat = 1 << 53

// intOf returns value j of a typed array as an integer, or the reason it is not one.
func intOf(arr arrow.Array, j int) (int64, string) {
	switch a := arr.(type) {
	case *array.Int8:
		return int64(a.Value(j)), ""
	case *array.Int16:
		return int64(a.Value(j)), ""
	case *array.Int32:
		return int64(a.Value(j)), ""
	case *array.Int64:
		return a.Value(j), ""
	case *array.Uint8:
		return int64(a.Value(j)), ""
	case *array.Uint16:
		return int64(a.Value(j)), ""
	case *array.Uint32:
		return int64(a.Value(j)), ""
	case *array.Uint64:
		v := a.Value(j)
		if v > math.MaxInt64 {
			return 0, fmt.Sprintf("%d is larger than the largest integer, %d", v, int64(math.MaxInt64))
		}
		return int64(v), ""
	case *array.Float16, *array.Float32, *array.Float64:
		f, why := floatOf(arr, j)
		switch {
		case why != "":
			return 0, why
		case f != math.Trunc(f):
			return 0, fmt.Sprintf("%s is not a whole number", strconv.FormatFloat(f, 'g', -1, 64))
		case math.Abs(f) > maxExactFloat:
			return 0, fmt.Sprintf("%s is a floating-point number too large to be an exact integer (beyond 2^53): store the column as integers", strconv.FormatFloat(f, 'g', -1, 64))
		}
		return int64(f), ""
	case *array.Decimal128:
		return decimalInt(a.Value(j).BigInt(), a.DataType().(*arrow.Decimal128Type).Scale, a.ValueStr(j))
	case *array.Decimal256:
		return decimalInt(a.Value(j).BigInt(), a.DataType().(*arrow.Decimal256Type).Scale, a.ValueStr(j))
	case *array.Boolean:
		return 0, fmt.Sprintf("a boolean (%t) is not an integer: declare the column as Boolean, or store counts", a.Value(j))
	}
	return 0, fmt.Sprintf("a %s value is not an integer: the column holds %s values", arr.DataType(), arr.DataType())
}

// decimalInt returns the integer of unscaled value v with scale digits after the point,
// or the reason it is not one (shown as text).
func decimalInt(v *big.Int, scale int32, text string) (int64, string) {
	ten := big.NewInt(10)
	if scale < 0 {
		v.Mul(v, new(big.Int).Exp(ten, big.NewInt(int64(-scale)), nil))
	} else if scale > 0 {
		var r big.Int
		v.QuoRem(v, new(big.Int).Exp(ten, big.NewInt(int64(scale)), nil), &r)
		if r.Sign() != 0 {
			return 0, fmt.Sprintf("%s is not a whole number", text)
		}
	}
	if !v.IsInt64() {
		return 0, fmt.Sprintf("%s is outside the range of integers (±%d)", text, int64(math.MaxInt64))
	}
	return v.Int64(), ""
}

// floatOf returns value j of a typed array as a finite number, or the reason it is not one.
func floatOf(arr arrow.Array, j int) (float64, string) {
	var f float64
	switch a := arr.(type) {
	case *array.Float16:
		f = float64(a.Value(j).Float32())
	case *array.Float32:
		f = float64(a.Value(j))
	case *array.Float64:
		f = a.Value(j)
	case *array.Uint64:
		f = float64(a.Value(j))
	case *array.Decimal128:
		f = a.Value(j).ToFloat64(a.DataType().(*arrow.Decimal128Type).Scale)
	case *array.Decimal256:
		f = a.Value(j).ToFloat64(a.DataType().(*arrow.Decimal256Type).Scale)
	case *array.Boolean:
		return 0, fmt.Sprintf("a boolean (%t) is not a number: declare the column as Boolean", a.Value(j))
	default:
		v, why := intOf(arr, j)
		if why != "" {
			return 0, strings.Replace(why, "not an integer", "not a number", 1)
		}
		return float64(v), ""
	}
	switch {
	case math.IsNaN(f):
		return 0, "NaN is not a number"
	case math.IsInf(f, 0):
		return 0, fmt.Sprintf("%s is not a finite number", strconv.FormatFloat(f, 'g', -1, 64))
	}
	return f, ""
}

// isoDate parses YYYY-MM-DD without allocating.
func isoDate(s string) (y, m, d int, ok bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, 0, 0, false
	}
	num := func(b string) (int, bool) {
		v := 0
		for j := 0; j < len(b); j++ {
			c := b[j]
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	var ok1, ok2, ok3 bool
	y, ok1 = num(s[:4])
	m, ok2 = num(s[5:7])
	d, ok3 = num(s[8:])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, 0, 0, false
	}
	return y, m, d, true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// dayOf is the day number of t's calendar date in t's own location.
func dayOf(t time.Time) int32 { return period.DayOf(t) }

// plainNumeral says s has only the characters of the numerals spreadsheets and databases
// export (digits, sign, decimal point, exponent): Go's parsers also take 1_000 and 0x1p-2,
// which no export writes and a partner would not mean.
func plainNumeral(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == 'e', c == 'E':
		default:
			return false
		}
	}
	return true
}

// notNumeral is the reason a value that is not a plain numeral is rejected, with a hint
// when it is written in Go's syntax.
func notNumeral(s, t, what string) string {
	lower := strings.ToLower(t)
	if strings.Contains(t, "_") || strings.HasPrefix(strings.TrimLeft(lower, "+-"), "0x") {
		return fmt.Sprintf("%q is not %s: write plain digits, without _ separators or hexadecimal", s, what)
	}
	return fmt.Sprintf("%q is not %s", s, what)
}
