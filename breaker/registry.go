package breaker

import (
	"cmp"
	"errors"
	"iter"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// CircuitSet is a changing set of circuits that a [Registry] reads afresh
// each time it is listed; *group.Group[K, T] is one.
type CircuitSet interface {
	Circuits() iter.Seq[Circuit]
}

// Registry is the one list of the circuits a process exposes: the
// exporters (prombreaker, otelbreaker) and the console read it, so there is
// no second list to keep in sync. Breakers are added one by one, groups as
// sets whose members are read at each listing. Names are unique: Add
// refuses a second breaker of a name, and a listing reports each name once
// (the first breaker added, then the groups in the order they were added),
// as the exporters require.
//
// There is no global registry: make one and hand it to what reads it. The
// zero value is empty and ready to use; a Registry must not be copied after
// first use. It is safe for concurrent use.
type Registry struct {
	mu       sync.Mutex
	circuits []Circuit
	names    map[string]bool
	sets     []CircuitSet
}

// ErrDuplicateName is wrapped by the error of Registry.Add for a circuit
// whose name is taken.
var ErrDuplicateName = errors.New("breaker: a circuit of that name is registered already")

// validName returns name as exporters and the console show it: valid
// UTF-8.
func validName(name string) string { return strings.ToValidUTF8(name, "\uFFFD") }

// Add registers cs. It refuses, with an error wrapping ErrDuplicateName
// that names it, a circuit whose name (made valid UTF-8) is registered
// already, and a nil one; the circuits before it in cs are added, those
// after it are not.
func (r *Registry) Add(cs ...Circuit) error {
	// Names first, with no lock held: a Circuit may be the user's own.
	names := make([]string, len(cs))
	for i, c := range cs {
		if c != nil && !isNilPointer(c) {
			names[i] = validName(c.Name())
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, c := range cs {
		if c == nil || isNilPointer(c) {
			return errors.New("breaker: Registry.Add: circuit " + strconv.Itoa(i) + " is nil")
		}
		name := names[i]
		if r.names[name] {
			return errors.Join(ErrDuplicateName, errors.New("breaker: Registry.Add: "+strconv.Quote(name)+" is registered already"))
		}
		if r.names == nil {
			r.names = make(map[string]bool)
		}
		r.names[name] = true
		r.circuits = append(r.circuits, c)
	}
	return nil
}

// AddSet registers a set of circuits, such as a group.Group, whose members
// are read at each listing.
func (r *Registry) AddSet(s CircuitSet) {
	if s == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sets = append(r.sets, s)
}

// Collision is a name that several circuits had in one listing: the first
// was listed, Extra more were left out.
type Collision struct {
	Name  string
	Extra int
}

// Each calls fn with every registered circuit, under its name made valid
// UTF-8, with no lock held: first the circuits added one by one, then each
// set's, in the order they were added. A circuit whose name was listed
// already is left out and counted in the collisions Each returns, sorted by
// name.
func (r *Registry) Each(fn func(name string, c Circuit)) []Collision {
	r.mu.Lock()
	// Add and AddSet only append, so these slices stay as they are.
	circuits, sets := r.circuits, r.sets
	r.mu.Unlock()
	seen := make(map[string]bool, len(circuits))
	var extra map[string]int
	list := func(c Circuit) {
		name := validName(c.Name())
		if seen[name] {
			if extra == nil {
				extra = make(map[string]int)
			}
			extra[name]++
			return
		}
		seen[name] = true
		fn(name, c)
	}
	for _, c := range circuits {
		list(c)
	}
	for _, s := range sets {
		for c := range s.Circuits() {
			if c != nil {
				list(c)
			}
		}
	}
	if extra == nil {
		return nil
	}
	cs := make([]Collision, 0, len(extra))
	for name, n := range extra {
		cs = append(cs, Collision{name, n})
	}
	slices.SortFunc(cs, func(a, b Collision) int { return cmp.Compare(a.Name, b.Name) })
	return cs
}

// Circuits returns every registered circuit, once per name, as Each lists
// them.
func (r *Registry) Circuits() iter.Seq[Circuit] {
	return func(yield func(Circuit) bool) {
		var all []Circuit
		r.Each(func(_ string, c Circuit) { all = append(all, c) })
		for _, c := range all {
			if !yield(c) {
				return
			}
		}
	}
}

// Lookup returns the registered circuit named name, as Each would list it.
func (r *Registry) Lookup(name string) (Circuit, bool) {
	r.mu.Lock()
	circuits, sets := r.circuits, r.sets
	r.mu.Unlock()
	for _, c := range circuits {
		if validName(c.Name()) == name {
			return c, true
		}
	}
	for _, s := range sets {
		for c := range s.Circuits() {
			if c != nil && validName(c.Name()) == name {
				return c, true
			}
		}
	}
	return nil, false
}
