package lab

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
)

// The timeline cannot be misread: a closed stretch of a millisecond in a
// five-minute run is drawn at the minimum width, each trip and close has a
// marker, phases are named on their shading, a long description wraps
// instead of running off the image, and the slow-call curve is drawn over
// the error curve, inside the frame, where both sit on 0%.
func TestSVGShowsEverything(t *testing.T) {
	long := strings.Repeat("A description long enough to need more than one line of the image. ", 4)
	s := Scenario{Name: "svg", Description: long, Duration: 5 * time.Minute, Rate: 1, SlowCall: time.Second,
		Phases: []Phase{{Name: "failover", Start: time.Minute, End: 2 * time.Minute}}}
	sec := time.Second
	sr := ScenarioReport{Scenario: s, load: *fixedBins(s.Duration), fleet: 1, Results: []Result{{
		Candidate: "c", Spec: "consecutive(5)",
		Transitions: []Transition{
			{At: 60 * sec, From: breaker.Closed, To: breaker.Open},
			{At: 70 * sec, From: breaker.Open, To: breaker.HalfOpen},
			{At: 70*sec + time.Millisecond, From: breaker.HalfOpen, To: breaker.Closed},
			{At: 70*sec + 2*time.Millisecond, From: breaker.Closed, To: breaker.Open},
		},
	}}}
	for at := time.Duration(0); at < s.Duration; at += sec {
		sr.load.add(&call{at: at})
	}
	var buf bytes.Buffer
	if err := sr.WriteSVG(&buf); err != nil {
		t.Fatal(err)
	}
	svg := buf.String()
	if n := strings.Count(svg, fmt.Sprintf(`width="%.1f" height="%d" fill="%s"`, float64(minWidth), laneHeight, colClosed)); n != 1 {
		t.Errorf("%d closed stretches at the minimum width, want 1 (the millisecond one)", n)
	}
	if n := strings.Count(svg, fmt.Sprintf(`width="%.1f" height="%d" fill="%s"`, float64(minWidth), laneHeight, colHalfOpen)); n != 1 {
		t.Errorf("%d half-open stretches at the minimum width, want 1", n)
	}
	// Two trips and one close in the lane, one of each in the legend.
	if trips, closes := strings.Count(svg, `fill="`+colTrip+`"`), strings.Count(svg, `fill="`+colClose+`"`); trips != 3 || closes != 2 {
		t.Errorf("%d trip and %d close markers, want 3 and 2", trips, closes)
	}
	if !strings.Contains(svg, ">failover</text>") {
		t.Error("the phase is not named on its shading")
	}
	lines := wrap(long, wrapAt)
	if len(lines) < 2 {
		t.Fatalf("the description did not wrap: %q", lines)
	}
	for _, line := range lines {
		if len([]rune(line)) > wrapAt || !strings.Contains(svg, ">"+line+"</text>") {
			t.Errorf("description line %q missing or longer than %d", line, wrapAt)
		}
	}
	errorsAt, slowAt := strings.Index(svg, `stroke="`+colErrors+`" stroke-width="1.5"`), strings.Index(svg, `stroke="`+colSlow+`" stroke-width="2.5"`)
	if errorsAt < 0 || slowAt < errorsAt {
		t.Error("the slow-call curve is not drawn over the error curve")
	}
	if bottom := float64(chartTop(lines) + chartHeight - chartInset); !strings.Contains(svg, fmt.Sprintf(" %.1f", bottom)) {
		t.Errorf("no curve point on 0%% at y=%.1f, inside the frame", bottom)
	}
}
