package metricset

import (
	"errors"
	"reflect"
	"strings"
	"sync"

	"github.com/tripwire-go/tripwire/group"
)

// OutlierSource is a group's outlier detector to report; *group.Group[K, T]
// implements it for every K and T.
type OutlierSource interface {
	OutlierStats() group.OutlierStats
}

// OutlierCounts returns the counts of the detector s, in the order
// exporters report them: "evaluations", "found" and "ejected". In shadow
// (s.Shadow), "ejected" counts the ejections the detector would have made:
// as with a shadow-only breaker's trips, the series keeps its name and a
// gauge says the detector enforces nothing.
func OutlierCounts(s group.OutlierStats) [3]Counter {
	return [...]Counter{
		{"evaluations", "{evaluation}", "Intervals the group's outlier detector judged.", s.Evaluations},
		{"found", "{outlier}", "Outliers the group's outlier detector found, opened or not: a key that stands out in three intervals counts three times.", s.Found},
		{"ejected", "{outlier}", "Outliers the group's outlier detector opened, or in shadow would have opened; the others of those found a cap kept closed, or were no longer closed.", s.Ejected},
	}
}

// Errors of [Outliers.Add].
var (
	ErrNoGroupName    = errors.New("the group's name is empty")
	ErrNoOutliers     = errors.New("the group is nil")
	ErrDuplicateGroup = errors.New("a group with this name is already reported")
)

// NamedOutliers is a detector and the name it is reported under.
type NamedOutliers struct {
	Name string
	Src  OutlierSource
}

// Outliers holds the detectors an exporter reports, each under a name of
// the user's (a group has none of its own), each name once. The zero value
// is empty and ready to use. It is safe for concurrent use.
type Outliers struct {
	mu    sync.Mutex
	named []NamedOutliers // Add only appends, so List's slices stay as they are
}

// Add adds src under name, made valid UTF-8 as label values must be, and
// returns the name it is reported under. It fails when name is empty,
// src is nil, or name is taken, with an error wrapping ErrNoGroupName,
// ErrNoOutliers or ErrDuplicateGroup.
func (o *Outliers) Add(name string, src OutlierSource) (string, error) {
	name = strings.ToValidUTF8(name, "\uFFFD")
	switch {
	case name == "":
		return name, ErrNoGroupName
	case src == nil || isNilPointer(src):
		// A nil *group.Group would panic at each scrape, far from here.
		return name, ErrNoOutliers
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, n := range o.named {
		if n.Name == name {
			return name, ErrDuplicateGroup
		}
	}
	o.named = append(o.named, NamedOutliers{name, src})
	return name, nil
}

// List returns the detectors added, in the order they were added. The
// slice is shared: read it only.
func (o *Outliers) List() []NamedOutliers {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.named
}

func isNilPointer(v any) bool {
	r := reflect.ValueOf(v)
	return r.Kind() == reflect.Pointer && r.IsNil()
}
