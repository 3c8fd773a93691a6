package window

// Marks are the kinds of a call that a window counts besides the call
// itself, as a set: one Record counts a call that failed and was slow.
// Each kind has a sum in [Counts]. A set rather than one parameter per kind
// keeps Record's signature when a kind is added: the new kind is a new
// constant and a new field of Counts, and no caller changes. The zero
// value marks nothing: a plain success.
type Marks uint8

const (
	// Failed marks a call that failed; Counts.Failures sums them.
	Failed Marks = 1 << iota
	// Slow marks a call that was slow; Counts.Slow sums them.
	Slow
)

// Mark returns the marks of a call that failed, was slow, both or neither:
// the form to use when the kinds come as booleans.
func Mark(failed, slow bool) Marks {
	var m Marks
	if failed {
		m |= Failed
	}
	if slow {
		m |= Slow
	}
	return m
}
