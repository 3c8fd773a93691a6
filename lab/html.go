package lab

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"strings"
)

// SVGName is the file name under which the command writes a scenario's
// timeline, and under which [Report.WriteHTML] looks for it.
func (sr *ScenarioReport) SVGName() string { return sr.Scenario.Name + ".svg" }

// WriteHTML writes the report as one HTML page: the table of every
// scenario and candidate with the key to its columns, and below it every
// scenario's timeline, as an image read from [ScenarioReport.SVGName] in
// the page's directory. The command writes it as index.html beside the
// SVG files. The page needs no script and no network.
func (r *Report) WriteHTML(w io.Writer) error {
	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }
	e := html.EscapeString
	p(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>tripwire lab</title>
<style>
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; font-size: 13px; }
th, td { padding: 2px 10px; text-align: right; white-space: nowrap; }
th { border-bottom: 1px solid #444; }
td.name, th.name { text-align: left; }
tr.first td { border-top: 1px solid #bbb; }
dl { font-size: 13px; display: grid; grid-template-columns: max-content auto; gap: 2px 12px; }
dt { font-family: monospace; }
dd { margin: 0; }
img { display: block; max-width: 100%%; height: auto; margin: 1em 0 2em; border: 1px solid #ddd; }
</style>
</head>
<body>
<h1>tripwire lab</h1>
`)
	p("<p>Seed %d", r.Seed)
	if r.Fleet > 1 {
		p("; a fleet of %d instances, each with its own breaker, sharing the traffic %s", r.Fleet, e(r.Route.String()))
	}
	p(".</p>\n<table>\n<thead><tr><th class=\"name\">scenario</th><th class=\"name\">candidate</th>")
	for _, k := range figureKey {
		p(`<th title="%s">%s</th>`, e(k.means), e(k.name))
	}
	p("</tr></thead>\n<tbody>\n")
	for _, sr := range r.Scenarios {
		for j, res := range sr.Results {
			class, name := "", ""
			if j == 0 {
				class, name = ` class="first"`, fmt.Sprintf(`<a href="#%s">%s</a>`, e(sr.Scenario.Name), e(sr.Scenario.Name))
			}
			p(`<tr%s><td class="name">%s</td><td class="name" title="%s">%s</td><td>%s</td><td>%d</td><td>%d</td><td>%d</td><td>%s</td><td>%d</td><td>%d</td><td>%d</td></tr>`+"\n",
				class, name, e(res.Spec), e(res.Candidate), e(tableDuration(res.TimeToTrip)), res.FaultSent, res.FaultFailed,
				res.HealthyLost, e(tableDuration(res.TimeToClose)), res.Probes, res.Trips, res.Reopens)
		}
	}
	p("</tbody>\n</table>\n<dl>\n")
	for _, k := range figureKey {
		p("<dt>%s</dt><dd>%s</dd>\n", e(k.name), e(k.means))
	}
	p("<dt>never, n/a</dt><dd>%s</dd>\n</dl>\n", e(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(tableNote), "times:"))))
	if len(r.Scenarios) > 0 {
		p("<h2>Candidates</h2>\n<dl>\n")
		for _, res := range r.Scenarios[0].Results {
			p("<dt>%s</dt><dd><code>%s</code></dd>\n", e(res.Candidate), e(res.Spec))
		}
		p("</dl>\n")
	}
	for i := range r.Scenarios {
		sr := &r.Scenarios[i]
		p(`<h2 id="%s">%s</h2>`+"\n", e(sr.Scenario.Name), e(sr.Scenario.Name))
		p(`<img src="%s" alt="%s" width="%d">`+"\n", e(sr.SVGName()), e("timeline of "+sr.Scenario.Name), svgWidth)
	}
	p("</body>\n</html>\n")
	return bw.Flush()
}
