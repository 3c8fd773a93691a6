package fsm

import (
	"testing"
	"time"
)

func TestForgive(t *testing.T) {
	for _, tc := range []struct {
		count           int
		healthy, forget time.Duration
		left            int
		spent           time.Duration
	}{
		{3, 0, time.Minute, 3, 0},
		{3, -time.Hour, time.Minute, 3, 0}, // a clock that went back forgives nothing
		{3, 59 * time.Second, time.Minute, 3, 0},
		{3, 150 * time.Second, time.Minute, 1, 2 * time.Minute},
		{3, time.Hour, time.Minute, 0, time.Hour},
		{0, time.Hour, time.Minute, 0, 0},
		{2, time.Hour, 0, 2, 0},
	} {
		left, spent := Forgive(tc.count, tc.healthy, tc.forget)
		if left != tc.left || spent != tc.spent {
			t.Errorf("Forgive(%d, %v, %v) = %d, %v; want %d, %v", tc.count, tc.healthy, tc.forget, left, spent, tc.left, tc.spent)
		}
	}
}
