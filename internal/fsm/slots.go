package fsm

// slots packs what the half-open state counts into one word, so that a probe
// is admitted and released with a single compare-and-swap:
//
//	bits 63..32  low 32 bits of the generation that granted the slots
//	bits 31..16  probes in flight
//	bits 15..0   probes that succeeded
//
// Tagging the word with the generation is what makes slots belong to the
// half-open period that granted them: once the circuit has moved on, the word
// carries another tag and a late release cannot touch it. A probe would have
// to stay in flight for 2^32 transitions to meet its own tag again.
type slots uint64

// MaxProbes is the largest number of half-open probes the machine can count.
const MaxProbes = 1<<16 - 1

const (
	inflightShift = 16
	tagShift      = 32
	countMask     = 1<<16 - 1
)

func makeSlots(gen uint64) slots { return slots(gen << tagShift) }

func (s slots) tag() uint32         { return uint32(s >> tagShift) }
func (s slots) inflight() int       { return int(s>>inflightShift) & countMask }
func (s slots) successes() int      { return int(s) & countMask }
func (s slots) matches(w Word) bool { return s.tag() == uint32(w.Gen()) }
