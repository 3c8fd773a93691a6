package lab

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
)

// bins is how many time bins the timeline's error-rate curve of a
// scenario has; a trace's has between maxBins/2 and maxBins.
const (
	bins    = 150
	maxBins = 300
)

// bin counts the calls that arrived in one slice of a run, as the
// dependency would have seen them with no breaker in front.
type bin struct {
	calls, failed, slow int
}

// loadBins counts calls in time bins of equal width. For a scenario the
// span is known and the bins are fixed; for a trace it is not, so the bins
// start narrow and merge pairwise whenever there are too many, which keeps
// memory bounded by the number of bins, whatever the number of calls.
type loadBins struct {
	width float64 // of a bin, in nanoseconds
	fixed bool
	bins  []bin
}

func fixedBins(span time.Duration) *loadBins {
	return &loadBins{width: float64(span) / bins, fixed: true, bins: make([]bin, bins)}
}

func growingBins() *loadBins {
	return &loadBins{width: float64(10 * time.Millisecond)}
}

func (l *loadBins) add(c *call) {
	k := int(float64(c.at) / l.width)
	if l.fixed {
		k = min(k, len(l.bins)-1)
	} else {
		for k >= 16*maxBins {
			l.merge()
			k = int(float64(c.at) / l.width)
		}
		for k >= len(l.bins) {
			l.bins = append(l.bins, bin{})
		}
	}
	b := &l.bins[k]
	b.calls++
	if c.failed {
		b.failed++
	}
	if c.slow {
		b.slow++
	}
}

// merge halves the number of bins.
func (l *loadBins) merge() {
	n := (len(l.bins) + 1) / 2
	for i := range n {
		b := l.bins[2*i]
		if 2*i+1 < len(l.bins) {
			o := l.bins[2*i+1]
			b.calls, b.failed, b.slow = b.calls+o.calls, b.failed+o.failed, b.slow+o.slow
		}
		l.bins[i] = b
	}
	l.bins = l.bins[:n]
	l.width *= 2
}

// done returns the bins to draw: for a trace, at most maxBins of them.
func (l *loadBins) done() loadBins {
	for !l.fixed && len(l.bins) > maxBins {
		l.merge()
	}
	return *l
}

// Layout of a timeline, in SVG user units.
const (
	svgWidth    = 960
	svgLeft     = 250 // room for the lane labels
	svgRight    = 24
	chartHeight = 130
	chartInset  = 4  // the curves stay this far inside the frame, so that 0% shows
	laneGap     = 40 // between the chart and the first lane
	laneHeight  = 22
	laneStep    = 32
	plotWidth   = svgWidth - svgLeft - svgRight
	minWidth    = 2 // the narrowest a state's stretch is drawn, so that none vanishes
	wrapAt      = 140
)

// Colours of the states, of the fault band, of the curves and markers.
const (
	colClosed   = "#cde8c8"
	colHalfOpen = "#f2b84b"
	colOpen     = "#d64541"
	colFault    = "#f4e1e1"
	colErrors   = "#b0281f"
	colSlow     = "#6a4c93"
	colTrip     = "#7a1010"
	colClose    = "#1d6b2a"
	colAxis     = "#444"
	colGrid     = "#ddd"
)

// WriteSVG draws the scenario's timeline as a standalone SVG image: the
// dependency's error rate over time (and its share of slow calls, when the
// scenario defines SlowCall), with the fault's phases shaded and named,
// above one lane per candidate showing the circuit's state over time, with
// a marker at each trip and each close. Every stretch of a state is drawn
// at least two units wide, so that none vanishes however short. With a
// fleet, the lanes show the first instance's breaker. It opens in any
// browser.
func (sr *ScenarioReport) WriteSVG(w io.Writer) error {
	s := &sr.Scenario
	description := wrap(s.Description, wrapAt)
	svgTop := chartTop(description)
	lanesTop := svgTop + chartHeight + laneGap
	axisY := lanesTop + len(sr.Results)*laneStep + 4
	legendY := axisY + 52
	height := legendY + 34

	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }
	x := func(t time.Duration) float64 {
		return svgLeft + float64(t)/float64(s.Duration)*plotWidth
	}
	yRate := func(r float64) float64 {
		return float64(svgTop+chartInset) + float64(chartHeight-2*chartInset)*(1-r)
	}

	p(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		svgWidth, height, svgWidth, height)
	p(`<title>%s</title>`+"\n", esc("tripwire lab: "+s.Name))
	p(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")

	// Title, description and the settings that shaped the run.
	p(`<text x="%d" y="26" font-size="18" font-weight="bold">%s</text>`+"\n", 16, esc("Scenario "+s.Name))
	for i, line := range description {
		p(`<text x="%d" y="%d" fill="%s">%s</text>`+"\n", 16, 46+16*i, colAxis, esc(line))
	}
	p(`<text x="%d" y="%d" fill="%s" font-size="11">%s</text>`+"\n", 16, svgTop-20, colAxis, esc(settingsLine(sr)))

	// The fault, shaded over the chart and the lanes, each phase named.
	for _, ph := range s.Phases {
		width := max(x(ph.End)-x(ph.Start), minWidth)
		p(`<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n",
			x(ph.Start), svgTop, width, axisY-svgTop, colFault)
	}

	// The error-rate chart: grid, axis labels, frame, curves.
	for _, r := range []float64{0, 0.25, 0.5, 0.75, 1} {
		p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s"/>`+"\n", svgLeft, yRate(r), svgLeft+plotWidth, yRate(r), colGrid)
		p(`<text x="%d" y="%.1f" text-anchor="end" fill="%s">%d%%</text>`+"\n", svgLeft-6, yRate(r)+4, colAxis, int(r*100))
	}
	p(`<text transform="translate(%d %d) rotate(-90)" text-anchor="middle" fill="%s">share of calls</text>`+"\n",
		svgLeft-46, svgTop+chartHeight/2, colAxis)
	p(`<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="%s"/>`+"\n", svgLeft, svgTop, plotWidth, chartHeight, colAxis)
	for _, ph := range s.Phases {
		if ph.Name == "" {
			continue
		}
		// A name that does not fit its band would spill over the next one:
		// it is then left to the title element, shown on hover.
		width := x(ph.End) - x(ph.Start)
		label := ph.Name
		if float64(7*len([]rune(label))) > width-4 {
			label = ""
		}
		p(`<g><title>%s</title><text x="%.1f" y="%d" font-size="11" fill="%s">%s</text></g>`+"\n",
			esc(fmt.Sprintf("phase %s: %s to %s", ph.Name, shortDuration(ph.Start), shortDuration(ph.End))),
			x(ph.Start)+3, svgTop-3, colErrors, esc(label))
	}
	binX := func(k int) float64 {
		return svgLeft + (float64(k)+0.5)*sr.load.width/float64(s.Duration)*plotWidth
	}
	curve := func(colour, extra string, part func(bin) int) {
		var d strings.Builder
		pen := false
		for k, b := range sr.load.bins {
			if b.calls == 0 {
				pen = false
				continue
			}
			cmd := "L"
			if !pen {
				cmd = "M"
			}
			fmt.Fprintf(&d, "%s%.1f %.1f ", cmd, binX(k), yRate(float64(part(b))/float64(b.calls)))
			pen = true
		}
		p(`<path d="%s" fill="none" stroke="%s"%s/>`+"\n", strings.TrimSpace(d.String()), colour, extra)
	}
	curve(colErrors, ` stroke-width="1.5"`, func(b bin) int { return b.failed })
	showSlow := s.SlowCall > 0
	if showSlow {
		// Drawn over the error curve, dashed and wider, so that both show
		// where they run together (on 0%, most of the time).
		curve(colSlow, ` stroke-width="2.5" stroke-dasharray="5 4"`, func(b bin) int { return b.slow })
	}

	// One lane per candidate: the circuit's state over time.
	for i, res := range sr.Results {
		y := lanesTop + i*laneStep
		p(`<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", svgLeft-8, y+10, esc(clip(res.Candidate, 34)))
		p(`<text x="%d" y="%d" text-anchor="end" font-size="9" fill="%s"><title>%s</title>%s</text>`+"\n",
			svgLeft-8, y+21, colAxis, esc(res.Spec), esc(clip(res.Spec, 48)))
		// Stretches in order: open ones at their width, then closed and
		// half-open ones, which are often milliseconds long, at least
		// minWidth wide on top, so that every one shows.
		type stretch struct {
			from, to float64
			state    breaker.State
		}
		var short []stretch
		var marks []string
		state, from := breaker.Closed, time.Duration(0)
		segment := func(to time.Duration) {
			switch {
			case to <= from:
				if state != breaker.Open {
					short = append(short, stretch{x(from), x(from), state})
				}
			case state == breaker.Open:
				p(`<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", x(from), y, x(to)-x(from), laneHeight, colOpen)
			default:
				short = append(short, stretch{x(from), x(to), state})
			}
		}
		for _, t := range res.Transitions {
			if t.Instance != 0 {
				continue
			}
			segment(t.At)
			switch {
			case t.From == breaker.Closed && t.To == breaker.Open:
				marks = append(marks, marker(x(t.At), y, true))
			case t.To == breaker.Closed:
				marks = append(marks, marker(x(t.At), y, false))
			}
			state, from = t.To, t.At
		}
		segment(s.Duration)
		for _, st := range short {
			p(`<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n",
				min(st.from, svgLeft+plotWidth-minWidth), y, max(st.to-st.from, minWidth), laneHeight, stateColour(st.state))
		}
		p(`<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="%s" stroke-width="0.5"/>`+"\n", svgLeft, y, plotWidth, laneHeight, colAxis)
		for _, m := range marks {
			p("%s", m)
		}
	}
	lanes := "circuit state, one lane per candidate"
	if sr.fleet > 1 {
		lanes += fmt.Sprintf(" (the first of %d instances)", sr.fleet)
	}
	p(`<text x="%d" y="%d" fill="%s">%s</text>`+"\n", svgLeft, lanesTop-12, colAxis, esc(lanes))

	// The time axis.
	p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s"/>`+"\n", svgLeft, axisY, svgLeft+plotWidth, axisY, colAxis)
	step := tickStep(s.Duration)
	for t := time.Duration(0); t <= s.Duration; t += step {
		p(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"/>`+"\n", x(t), axisY, x(t), axisY+5, colAxis)
		p(`<text x="%.1f" y="%d" text-anchor="middle" fill="%s">%s</text>`+"\n", x(t), axisY+18, colAxis, esc(tickLabel(t)))
	}
	p(`<text x="%d" y="%d" text-anchor="middle" fill="%s">time since the scenario began</text>`+"\n",
		svgLeft+plotWidth/2, axisY+36, colAxis)

	// The legend.
	lx := 16
	swatch := func(colour, label string) {
		p(`<rect x="%d" y="%d" width="14" height="14" fill="%s" stroke="%s" stroke-width="0.5"/>`+"\n", lx, legendY, colour, colAxis)
		p(`<text x="%d" y="%d">%s</text>`+"\n", lx+20, legendY+11, esc(label))
		lx += 28 + 7*len(label)
	}
	line := func(colour, extra, label string) {
		p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s"%s/>`+"\n", lx, legendY+7, lx+18, legendY+7, colour, extra)
		p(`<text x="%d" y="%d">%s</text>`+"\n", lx+24, legendY+11, esc(label))
		lx += 32 + 7*len(label)
	}
	mark := func(trip bool, label string) {
		p("%s", marker(float64(lx+6), legendY+4, trip))
		p(`<text x="%d" y="%d">%s</text>`+"\n", lx+16, legendY+11, esc(label))
		lx += 24 + 7*len(label)
	}
	swatch(colClosed, "closed")
	swatch(colHalfOpen, "half-open")
	swatch(colOpen, "open")
	mark(true, "trip")
	mark(false, "close")
	if len(s.Phases) > 0 {
		swatch(colFault, "fault")
	}
	line(colErrors, ` stroke-width="2"`, "error rate")
	if showSlow {
		line(colSlow, ` stroke-width="2.5" stroke-dasharray="5 4"`, "slow calls (over "+shortDuration(s.SlowCall)+")")
	}
	p("</svg>\n")
	return bw.Flush()
}

// chartTop is where the chart begins, below the title, the description's
// lines and the settings line.
func chartTop(description []string) int { return 80 + 16*len(description) }

// marker draws a trip (a dark red triangle pointing down into the lane)
// or a close (a dark green one pointing up), above a lane at y.
func marker(x float64, y int, trip bool) string {
	top := float64(y) - 7
	if trip {
		return fmt.Sprintf(`<path d="M%.1f %.1f l-4 -6 h8 z" fill="%s"/>`+"\n", x, top+6, colTrip)
	}
	return fmt.Sprintf(`<path d="M%.1f %.1f l-4 6 h8 z" fill="%s"/>`+"\n", x, top, colClose)
}

// wrap breaks text into lines of at most n characters, at spaces.
func wrap(text string, n int) []string {
	var lines []string
	var cur []string
	width := 0
	for _, w := range strings.Fields(text) {
		l := len([]rune(w))
		if width > 0 && width+1+l > n {
			lines = append(lines, strings.Join(cur, " "))
			cur, width = nil, 0
		}
		if width > 0 {
			width++
		}
		cur = append(cur, w)
		width += l
	}
	if len(cur) > 0 {
		lines = append(lines, strings.Join(cur, " "))
	}
	return lines
}

func settingsLine(sr *ScenarioReport) string {
	s := &sr.Scenario
	probes := s.HalfOpenProbes
	if probes == 0 {
		probes = breaker.DefaultHalfOpenProbes
	}
	rate := strconv.FormatFloat(s.Rate, 'g', 4, 64)
	fleet := ""
	if sr.fleet > 1 {
		fleet = fmt.Sprintf(" over %d instances", sr.fleet)
	}
	return fmt.Sprintf("%s calls/s for %s%s · breaker (unless a candidate sets its own): open for %s, %d half-open probes · the curves count every call, as if there were no breaker",
		rate, shortDuration(s.Duration), fleet, shortDuration(s.openTimeout()), probes)
}

func stateColour(s breaker.State) string {
	switch s {
	case breaker.Open:
		return colOpen
	case breaker.HalfOpen:
		return colHalfOpen
	}
	return colClosed
}

// tickStep picks a round step that gives five to twelve ticks.
func tickStep(d time.Duration) time.Duration {
	for _, step := range []time.Duration{
		time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond,
		10 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond,
		100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond,
		time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
		time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
		time.Hour, 2 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
	} {
		if d/step <= 12 {
			return step
		}
	}
	// Longer than 12 days: whole days.
	return time.Duration(math.Ceil(float64(d)/12/float64(24*time.Hour))) * 24 * time.Hour
}

func tickLabel(t time.Duration) string {
	if t == 0 {
		return "0"
	}
	return shortDuration(t)
}

// shortDuration writes d without zero minutes and seconds: "5m", not "5m0s".
func shortDuration(d time.Duration) string {
	s := d.String()
	// "1m0s" reads better as "1m", "1h0m0s" as "1h".
	for _, suffix := range []string{"m0s", "h0m"} {
		s = strings.Replace(s, suffix, suffix[:1], 1)
	}
	return s
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
