package metricset_test

import (
	"errors"
	"testing"

	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/internal/metricset"
)

type stats group.OutlierStats

func (s stats) OutlierStats() group.OutlierStats { return group.OutlierStats(s) }

func TestOutliersAdd(t *testing.T) {
	var o metricset.Outliers
	for _, c := range []struct {
		name string
		src  metricset.OutlierSource
		want error
		as   string
	}{
		{"hosts", stats{}, nil, "hosts"},
		{"hosts", stats{}, metricset.ErrDuplicateGroup, "hosts"},
		{"", stats{}, metricset.ErrNoGroupName, ""},
		{"x", nil, metricset.ErrNoOutliers, "x"},
		{"x", (*group.Group[int, int])(nil), metricset.ErrNoOutliers, "x"},
		{"a\xffb", stats{}, nil, "a\uFFFDb"},
		{"a\uFFFDb", stats{}, metricset.ErrDuplicateGroup, "a\uFFFDb"},
	} {
		as, err := o.Add(c.name, c.src)
		if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) || as != c.as {
			t.Errorf("Add(%q) = %q, %v; want %q, %v", c.name, as, err, c.as, c.want)
		}
	}
	l := o.List()
	if len(l) != 2 || l[0].Name != "hosts" || l[1].Name != "a\uFFFDb" {
		t.Fatalf("List: %+v", l)
	}
}

func TestOutlierCounts(t *testing.T) {
	got := metricset.OutlierCounts(group.OutlierStats{Shadow: true, Evaluations: 3, Found: 2, Ejected: 1})
	want := [3]struct {
		name string
		n    uint64
	}{{"evaluations", 3}, {"found", 2}, {"ejected", 1}}
	for i, c := range got {
		if c.Name != want[i].name || c.N != want[i].n || c.Unit == "" || c.Help == "" {
			t.Errorf("%d: %+v, want %+v", i, c, want[i])
		}
	}
}
