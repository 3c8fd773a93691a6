package browsertest

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/tripwire-go/tripwire/breaker"
)

func (s *service) succeed(b *breaker.Breaker[int]) {
	_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 1, nil })
}

// cellIs is a page expression true once the named circuit's row shows text
// in its column'th cell (1: state, 4: ok, 5: failed).
func cellIs(name string, column int, text string) string {
	return fmt.Sprintf(`(() => { const r = document.querySelector('tr[data-name=%q]'); return !!r && r.cells[%d].textContent === %q; })()`,
		name, column-1, text)
}

// The page's render used to rebuild the whole table on every stream event
// (and every five seconds), so every row and button was a new node after
// each update: a test's click found a node that was gone before it landed
// ("Could not find node with given id"), and a person's click, pressed on
// one button and released on its replacement, was lost. Each circuit's row
// is now one node for the life of the page, through updates of its own
// counts, of another row, a move to the top when it trips, and a filter
// that hides it and shows it again.
func TestRowNodesSurviveUpdatesOfEveryRow(t *testing.T) {
	s := newService(t, func(*http.Request) (string, error) { return "alice", nil })
	b := newBrowser(t)
	b.run(t, chromedp.Navigate(s.url),
		chromedp.WaitVisible(`button[data-act="db"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#live.on`, chromedp.ByQuery),
		chromedp.Evaluate(`window.__kept = ["db", "api"].flatMap(n => [
			document.querySelector('tr[data-name="' + n + '"]'),
			document.querySelector('button[data-act="' + n + '"]'),
			document.querySelector('button[data-hist="' + n + '"]')])`, nil))
	same := `window.__kept.every((n, i) => n === [
			document.querySelector('tr[data-name="db"]'), document.querySelector('button[data-act="db"]'), document.querySelector('button[data-hist="db"]'),
			document.querySelector('tr[data-name="api"]'), document.querySelector('button[data-act="api"]'), document.querySelector('button[data-hist="api"]')][i])`
	check := func(after string) {
		t.Helper()
		var kept bool
		b.run(t, chromedp.Evaluate(same, &kept))
		if !kept {
			t.Fatalf("after %s, a row or button is a new node", after)
		}
	}

	s.succeed(s.api)
	b.run(t, chromedp.Poll(cellIs("api", 4, "1"), nil))
	check("an update of another row")
	s.fail(s.db)
	b.run(t, chromedp.Poll(cellIs("db", 5, "1"), nil))
	check("an update of the row's own counts")
	s.fail(s.db)
	var first string
	b.run(t, chromedp.WaitVisible(row("db", "open"), chromedp.ByQuery),
		chromedp.AttributeValue(`#rows tr`, "data-name", &first, nil, chromedp.ByQuery))
	if first != "db" {
		t.Fatalf("first row %q after db tripped, want db", first)
	}
	check("the row moved to the top")
	filter := func(f string, rows int) {
		t.Helper()
		b.run(t, chromedp.Evaluate(`(() => { const f = document.getElementById("filter"); f.value = "`+f+`"; f.dispatchEvent(new Event("input")); })()`, nil),
			chromedp.Poll(fmt.Sprintf(`document.querySelectorAll("#rows tr").length === %d`, rows), nil))
	}
	filter("api", 1)
	filter("", 2)
	check("a filter hid the row and showed it again")
	b.noErrors(t)
}

// A click pressed on a circuit's button while events stream in, and
// released after the page has taken them in, opens that circuit's dialog:
// the page used to replace the button between the press and the release,
// and the click went nowhere. Here the burst also trips the circuit, which
// moves its row to the top: had the row moved under the pointer, the
// release would land on another circuit's button.
func TestClickWhileEventsStreamInIsNotLost(t *testing.T) {
	s := newService(t, func(*http.Request) (string, error) { return "alice", nil })
	b := newBrowser(t)
	var at struct{ X, Y float64 }
	b.run(t, chromedp.Navigate(s.url),
		chromedp.WaitVisible(`button[data-act="db"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#live.on`, chromedp.ByQuery),
		chromedp.Focus(`#filter`, chromedp.ByQuery), // the press takes the focus from it
		chromedp.Evaluate(`(() => { const r = document.querySelector('button[data-act="db"]').getBoundingClientRect();
			return {X: r.x + r.width / 2, Y: r.y + r.height / 2}; })()`, &at))
	b.run(t, input.DispatchMouseEvent(input.MouseMoved, at.X, at.Y),
		input.DispatchMouseEvent(input.MousePressed, at.X, at.Y).WithButton(input.Left).WithButtons(1).WithClickCount(1))

	// The burst: db trips, then api counts a call. The counts message that
	// shows api's call was read after db tripped, so once api's row shows
	// it the page knows that db is open and belongs at the top.
	s.fail(s.db)
	s.fail(s.db)
	s.succeed(s.api)
	b.run(t, chromedp.Poll(cellIs("api", 4, "1"), nil))

	var open bool
	var name string
	b.run(t, input.DispatchMouseEvent(input.MouseReleased, at.X, at.Y).WithButton(input.Left).WithClickCount(1),
		chromedp.Evaluate(`document.getElementById("actdlg").open`, &open),
		chromedp.Text(`#actname`, &name, chromedp.ByQuery))
	if !open || name != "db" {
		t.Fatalf("pressed and released on db's action button while events streamed in: dialog open %v, for %q; want it open for db", open, name)
	}

	// Once the pointer is up, the page catches up under the open dialog:
	// db moves to the top, with the button that opened the dialog, which
	// has the focus back when the dialog closes.
	var first string
	var focused bool
	b.run(t, chromedp.WaitReady(row("db", "open"), chromedp.ByQuery),
		chromedp.AttributeValue(`#rows tr`, "data-name", &first, nil, chromedp.ByQuery),
		chromedp.Click(`#actcancel`, chromedp.ByQuery),
		chromedp.WaitNotVisible(`#actdlg`, chromedp.ByQuery),
		chromedp.Evaluate(`document.activeElement === document.querySelector('button[data-act="db"]')`, &focused))
	if first != "db" {
		t.Errorf("first row %q once the pointer was up, want db", first)
	}
	if !focused {
		t.Error("closing the dialog did not give the focus back to db's action button")
	}
	b.noErrors(t)
}
