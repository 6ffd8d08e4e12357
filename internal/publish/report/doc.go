// Package report renders Backbone's community page: one static HTML page per Initiative,
// readable on a phone and in print, without JavaScript, for residents, school boards and
// funders. Per indicator it shows the latest value with its interval, the change since
// the previous period and the on-track judgement in words, and the gaps between groups as
// dot-and-bar and trend charts (SVG written on the server, each with a text alternative
// and a table of its numbers). Groups withheld to protect privacy are named, never
// quantified; unreliable and partial values say so in words.
//
// Every number comes from the result (internal/result) and is formatted by numFmt; every
// string comes from Messages, so a translation is one value. Renderer.WriteSite writes a
// static site (`backbone local --report DIR`); Handler serves the same pages, rendered
// when a result changes, with ETags.
package report
