package window_test

import (
	"fmt"
	"time"

	"github.com/tripwire-go/tripwire/window"
)

// A Time window over a minute forgets a call once it is a minute old. It
// reads no clock: every time here is a plain value.
func ExampleTime() {
	start := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	w := window.NewTime(time.Minute)
	fmt.Println("bucket width:", w.Width())

	w.Record(start, window.Failed)                   // a failure
	w.Record(start.Add(10*time.Second), window.Slow) // a slow success
	w.Record(start.Add(20*time.Second), 0)

	fmt.Printf("at 0:30 %+v\n", w.Sum(start.Add(30*time.Second)))
	fmt.Printf("at 1:05 %+v\n", w.Sum(start.Add(65*time.Second)))
	fmt.Printf("at 1:25 %+v\n", w.Sum(start.Add(85*time.Second)))
	// Output:
	// bucket width: 3.75s
	// at 0:30 {Calls:3 Failures:1 Slow:1}
	// at 1:05 {Calls:2 Failures:0 Slow:1}
	// at 1:25 {Calls:0 Failures:0 Slow:0}
}

// A Last window holds the last n outcomes, however long ago they were.
func ExampleLast() {
	w := window.NewLast(4)
	for _, failed := range []bool{true, true, false, false, false} {
		w.Record(window.Mark(failed, false))
		fmt.Printf("%+v\n", w.Sum())
	}
	// Output:
	// {Calls:1 Failures:1 Slow:0}
	// {Calls:2 Failures:2 Slow:0}
	// {Calls:3 Failures:2 Slow:0}
	// {Calls:4 Failures:2 Slow:0}
	// {Calls:4 Failures:1 Slow:0}
}
