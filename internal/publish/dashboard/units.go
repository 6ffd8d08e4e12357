package dashboard

import "strings"

// Unit returns the Grafana unit of an Indicator's values: a Proportion's are fractions
// (percentunit); otherwise its spec.unit, mapped to Grafana's unit when Grafana has one
// (percent, currency, durations, bytes), else shown as a suffix ("suffix: children").
func Unit(proportion bool, unit string) string {
	if proportion {
		return "percentunit"
	}
	u := strings.ToLower(strings.TrimSpace(unit))
	switch u {
	case "":
		return "short"
	case "percent", "%", "percentage", "percentage points":
		return "percent"
	case "proportion", "fraction", "share":
		return "percentunit"
	case "dollars", "dollar", "usd", "$", "us dollars":
		return "currencyUSD"
	case "euros", "euro", "eur", "€":
		return "currencyEUR"
	case "pounds", "gbp", "£":
		return "currencyGBP"
	case "seconds", "second", "s":
		return "s"
	case "minutes", "minute", "min":
		return "m"
	case "hours", "hour", "h":
		return "h"
	case "days", "day", "d":
		return "d"
	case "bytes":
		return "bytes"
	}
	return "suffix: " + strings.TrimSpace(unit)
}
