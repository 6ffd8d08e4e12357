package aggregate

// SetMaxPeriods lowers the bound on a timeline's periods for a test; the returned function
// restores it.
func SetMaxPeriods(n int) (restore func()) {
	old := maxPeriods
	maxPeriods = n
	return func() { maxPeriods = old }
}
