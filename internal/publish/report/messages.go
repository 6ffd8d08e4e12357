package report

// Messages are every string the pages show, in one place so the pages can be translated:
// a translation is another value of this type. Strings with verbs are fmt formats; the
// verbs carry explicit argument indexes (%[1]s) so a translation may reorder them.
type Messages struct {
	Lang string // BCP 47 tag of the html element

	IndexTitle, IndexIntro, IndexEmpty string
	IndexAsOf                          string // %[1]s as-of date

	SkipToContent, BackToIndex string
	Agenda, Partners, Backbone string
	PartnersIntro              string // %[1]d partners, %[2]d sectors
	Indicators, HowToRead      string
	Contents                   string

	Latest, Target, Progress, Change, OnTrack, Period, Sources, Interval string
	NoValue                                                              string
	TargetBy                                                             string // %[1]s value, %[2]s date
	ProgressText                                                         string // %[1]s percent of the way from baseline to target
	ProgressBackwards                                                    string // %[1]s percent, moved away from the target
	IntervalText                                                         string // %[1]s lower, %[2]s upper
	LatestPeriod                                                         string // %[1]s period label

	// Change since the previous period.
	ChangeUp, ChangeDown          string // %[1]s amount with unit, %[2]s previous period
	ChangeClear                   string // appended: more than chance would explain
	ChangeBetter, ChangeWorse     string
	ChangeNotClear                string // %[1]s previous period, %[2]s the change ("up 0.1 per 1,000")
	ChangeNoInterval              string // appended when there is no interval to judge
	ChangeNone                    string // %[1]s previous period: both equal
	ChangeUnknown                 string // %[1]s previous period: one of the two is not published
	ChangeFirst                   string // no previous complete period
	ChangeIntervalText            string // %[1]s lower, %[2]s upper
	Up, Down                      string // "up %[1]s", "down %[1]s"
	PercentagePoints, PointsShort string

	// On track.
	TrackYes, TrackNo, TrackImproving, TrackWorsening, TrackNotJudged, TrackNoTarget string
	TrackTrend, TrackChange                                                          string
	TrackMet, TrackNoReason                                                          string

	// Notes on a value.
	NoteUnreliable, NotePartial, NoteSuppressed, NoteNoData string
	FlagText                                                map[string]string

	// Equity.
	EquityTitle, EquityIntro  string // intro: %[1]s period
	EquityChartTitle          string // %[1]s dimension, %[2]s period
	EquityChartDesc           string // %[1]s indicator, %[2]s reference
	ReferenceMark, Unreliable string
	ReferenceTotal            string
	GapTimes                  string // %[1]s group, %[2]s value, %[3]s ratio, %[4]s reference
	GapPoints                 string // %[1]s group, %[2]s value, %[3]s points, %[4]s higher/lower, %[5]s reference
	GapSame                   string // %[1]s group, %[2]s value, %[3]s reference
	Higher, Lower             string
	GapOverlap, GapNoOverlap  string
	GapUnreliable             string
	ReferenceValue            string // %[1]s reference, %[2]s value
	WithheldOne, WithheldMany string // %[1]d groups, %[2]d k, %[3]s names
	WithheldNamesIntro        string
	TrendTitle                string // %[1]s dimension
	TrendGroupDesc            string // %[1]s group
	TrendReference            string // %[1]s reference group
	ShowNumbers               string
	Group, Value, Withheld    string
	WithheldCell, PartialMark string
	NoEquity                  string
	EquityNotes               string
	TotalTrendTitle           string
	TotalTrendDesc            string // %[1]s indicator
	UnknownShare              string // %[1]s percent
	UnknownWithheld           string

	// How to read this page.
	ReadIntervals, ReadSuppression, ReadReliability, ReadPartial, ReadEquity string
	// Heads of the paragraphs above.
	ReadIntervalsHead, ReadSuppressionHead, ReadReliabilityHead, ReadPartialHead, ReadEquityHead string
	ReadSources, ReadUpdated                                                                     string // updated: %[1]s as-of, %[2]s computed
	ReadSuppressionK                                                                             string // %[1]s the k, e.g. "11" or "11 (20 for some indicators)"
	ReadSuppressionKs                                                                            string // %[1]d the smallest k, %[2]s the others
	Download                                                                                     string
	SourceBy                                                                                     string // %[1]s source, %[2]s partner

	// CSV.
	SuppressedReason string // %[1]d k

	// Periods.
	Months, MonthsShort []string
	WeekOf              string // %[1]s date
	Quarter             string // %[1]s first month, %[2]s last month, %[3]d year
	FiscalYear          string // %[1]d first year, %[2]s last two digits of the next
	Footer              string
}

// English is the default language of the pages.
var English = Messages{
	Lang:          "en",
	IndexTitle:    "Community results",
	IndexIntro:    "Shared measures of the initiatives below, published by their backbone organisation for partners and residents.",
	IndexEmpty:    "No results have been published yet.",
	IndexAsOf:     "Figures as of %[1]s",
	SkipToContent: "Skip to the indicators",
	BackToIndex:   "All initiatives",
	Agenda:        "Our common agenda",
	Partners:      "Partners",
	Backbone:      "Backbone organisation",
	PartnersIntro: "%[1]d partners from %[2]d sectors share data and work toward this agenda.",
	Indicators:    "Indicators",
	HowToRead:     "How to read this page",
	Contents:      "On this page",

	Latest:            "Latest",
	Target:            "Target",
	Progress:          "Progress",
	Change:            "Change",
	OnTrack:           "On track",
	Period:            "Period",
	Sources:           "Data from",
	Interval:          "95% interval",
	NoValue:           "No value can be shown for this period.",
	TargetBy:          "%[1]s by %[2]s",
	ProgressText:      "%[1]s of the way from the baseline to the target",
	ProgressBackwards: "moved away from the target since the baseline",
	IntervalText:      "likely between %[1]s and %[2]s",
	LatestPeriod:      "in %[1]s",

	ChangeUp:           "Up %[1]s since %[2]s",
	ChangeDown:         "Down %[1]s since %[2]s",
	ChangeClear:        ", more than chance alone would explain",
	ChangeBetter:       " — a change for the better.",
	ChangeWorse:        " — a change for the worse.",
	ChangeNotClear:     "No clear change since %[1]s: the change (%[2]s) is within what chance alone could explain.",
	ChangeNoInterval:   "; there is no interval to tell whether this is more than chance.",
	ChangeNone:         "No change since %[1]s.",
	ChangeUnknown:      "The change since %[1]s cannot be shown: one of the two values is not published.",
	ChangeFirst:        "This is the first complete period: there is nothing to compare with yet.",
	ChangeIntervalText: "The change is likely between %[1]s and %[2]s.",
	Up:                 "up %[1]s",
	Down:               "down %[1]s",
	PercentagePoints:   "percentage points",
	PointsShort:        "points",

	TrackYes:       "Yes: on track to reach the target, judged by the %[1]s.",
	TrackNo:        "Not yet on track to reach the target, judged by the %[1]s.",
	TrackImproving: " It is improving.",
	TrackWorsening: " It is getting worse.",
	TrackNotJudged: "Not judged: %[1]s.",
	TrackNoTarget:  "No target is set.",
	TrackTrend:     "trend over all complete periods projected to the target date",
	TrackChange:    "change from the baseline",
	TrackMet:       "Yes: the latest value has reached the target.",
	TrackNoReason:  "not enough complete, published periods",

	NoteUnreliable: "Use with care: this value is unreliable because %[1]s.",
	NotePartial:    "%[1]s is not over yet: its value is partial and is left out of change and on-track judgements.",
	NoteSuppressed: "The latest value is withheld to protect privacy: fewer than %[1]d were counted, or showing it would let someone work out a group that was.",
	NoteNoData:     "No value: %[1]s.",
	FlagText: map[string]string{
		"n<30":              "it rests on fewer than 30 people",
		"events<20":         "it rests on fewer than 20 events",
		"cp-width":          "its interval is very wide",
		"cp-relative-width": "its interval is wide compared with the value",
		"rse":               "its relative standard error is 30% or more",
	},

	EquityTitle:      "Gaps between groups",
	EquityIntro:      "Each group's value in %[1]s, with the range it is likely to lie in.",
	EquityChartTitle: "%[1]s, %[2]s",
	EquityChartDesc:  "%[1]s for each group: a dot for the value and a bar for its 95%% interval; the reference group is %[2]s.",
	ReferenceMark:    "reference",
	Unreliable:       "unreliable",
	ReferenceTotal:   "All groups",
	GapTimes:         "%[1]s: %[2]s, %[3]s times the value for %[4]s.",
	GapPoints:        "%[1]s: %[2]s, %[3]s %[4]s than %[5]s.",
	GapSame:          "%[1]s: %[2]s, the same as %[3]s.",
	Higher:           "higher",
	Lower:            "lower",
	GapOverlap:       " The intervals overlap: this gap may be chance.",
	GapNoOverlap:     " The intervals do not overlap: the gap is unlikely to be chance alone.",
	GapUnreliable:    " This group's value is unreliable.",
	ReferenceValue:   "%[1]s (the reference group): %[2]s.",
	WithheldOne:      "1 group is not shown to protect privacy, because fewer than %[2]d were counted in it or showing it would let someone work out a group that was: %[3]s.",
	WithheldMany:     "%[1]d groups are not shown to protect privacy, because fewer than %[2]d were counted in them or showing them would let someone work out a group that was: %[3]s.",
	TrendTitle:       "%[1]s over time",
	TrendGroupDesc:   "%[1]s over time",
	TrendReference:   "In each small chart, the dashed grey line is %[1]s, for comparison; hollow dots are unreliable or partial values, and gaps are withheld periods.",
	ShowNumbers:      "Show the numbers",
	Group:            "Group",
	Value:            "Value",
	Withheld:         "withheld",
	WithheldCell:     "withheld to protect privacy",
	PartialMark:      "partial",
	NoEquity:         "Groups are not compared for this indicator: counts and sums of groups of different sizes are not comparable.",
	EquityNotes:      "Notes",
	TotalTrendTitle:  "Over time",
	TotalTrendDesc:   "%[1]s in each period, with its 95%% interval.",
	UnknownShare:     "%[1]s of records did not say which group they belong to; they count in the total only.",
	UnknownWithheld:  "Records that did not say which group they belong to count in the total only.",

	ReadIntervals:     "Every value is an estimate. The bar around a dot (and the words “likely between”) give the 95% interval: the range the true value is likely to lie in. When two groups' intervals overlap, the gap between them may be chance. A change is called clear only when its own interval leaves out zero.",
	ReadSuppression:   "When fewer than a set number of people or events were counted in a group, its value is withheld, and so are other values that would let someone work it out. Withheld groups are named, but no number about them appears on this page or in the download.",
	ReadSuppressionK:  "In this initiative, a group's value is withheld when fewer than %[1]s were counted.",
	ReadSuppressionKs: "%[1]d (%[2]s for some indicators)",
	ReadReliability:   "A value marked “unreliable” (a hollow dot and a dashed bar in the charts) rests on few people or events, or has a very wide interval, following the standards of the US National Center for Health Statistics. Read it as a rough indication.",
	ReadPartial:       "The current period is not over yet; its value is marked partial and is not used to judge change or progress.",
	ReadEquity:        "Each group is compared with a reference group chosen by the partners, or with all groups together. Rates are compared as ratios (“1.5 times the value”), percentages as differences in percentage points, averages as differences in their unit. Records that do not say which group they belong to count in the total only.",
	ReadSources:       "Where the data comes from",

	ReadIntervalsHead:   "Intervals",
	ReadSuppressionHead: "Privacy",
	ReadReliabilityHead: "Reliability",
	ReadPartialHead:     "Partial periods",
	ReadEquityHead:      "Gaps between groups",
	ReadUpdated:         "Figures are for periods complete on %[1]s. This page was computed from the result of %[2]s.",
	Download:            "Download every published number (CSV)",
	SourceBy:            "%[2]s (data set “%[1]s”)",

	SuppressedReason: "withheld to protect privacy: fewer than %[1]d counted, or it would let a withheld value be worked out",

	Months:      []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
	MonthsShort: []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"},
	WeekOf:      "week of %[1]s",
	Quarter:     "%[1]s–%[2]s %[3]d",
	FiscalYear:  "%[1]d–%[2]s",
	Footer:      "Published with Backbone. No script is needed to read this page.",
}
