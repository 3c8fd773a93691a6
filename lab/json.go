package lab

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// The JSON form of scenarios. Durations are strings in Go's notation
// ("250ms", "1m30s"); a ramp is one value or a pair [from, to]. Fields the
// wire types do not know are errors, so that a typo is not silently a
// default.

type scenarioJSON struct {
	Name           string            `json:"name"`
	Description    string            `json:"description"`
	Duration       *string           `json:"duration"`
	Rate           *float64          `json:"rate"`
	Jitter         float64           `json:"jitter"`
	Errors         float64           `json:"errors"`
	Latency        *string           `json:"latency"`
	SlowCall       *string           `json:"slow_call"`
	OpenTimeout    *string           `json:"open_timeout"`
	HalfOpenProbes int               `json:"half_open_probes"`
	Phases         []json.RawMessage `json:"phases"`
}

type phaseJSON struct {
	Name    string          `json:"name"`
	Start   *string         `json:"start"`
	End     *string         `json:"end"`
	Errors  json.RawMessage `json:"errors"`
	Latency json.RawMessage `json:"latency"`
}

// ParseScenarios reads scenarios in the JSON format described in the
// package documentation: one scenario object, or an array of them. Unknown
// fields, missing required fields, values of the wrong type and impossible
// scenarios (see [Scenario.Validate]) are errors that name the scenario and
// the field; every such error wraps [ErrInvalidScenario].
func ParseScenarios(r io.Reader) ([]Scenario, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, invalid("the input is empty: expected a scenario object or an array of them")
	}
	var raws []json.RawMessage
	array := trimmed[0] == '['
	if array {
		if err := decodeStrict(data, &raws); err != nil {
			return nil, invalid(jsonProblem(data, err))
		}
		if len(raws) == 0 {
			return nil, invalid("the array holds no scenario")
		}
	} else {
		raws = []json.RawMessage{data}
	}
	out := make([]Scenario, 0, len(raws))
	seen := map[string]int{}
	for i, raw := range raws {
		s, err := parseScenario(raw, i, array)
		if err != nil {
			return nil, err
		}
		key := strings.ToLower(s.Name)
		if j, dup := seen[key]; dup {
			return nil, &ScenarioError{Scenario: s.Name, Index: i + 1, Field: "name",
				problem: fmt.Sprintf("already used by scenario #%d (names are compared ignoring case, as they name files)", j+1)}
		}
		seen[key] = i
		out = append(out, s)
	}
	return out, nil
}

func invalid(problem string) error {
	return fmt.Errorf("%w: %s", ErrInvalidScenario, problem)
}

// decodeStrict decodes exactly one JSON value into v, refusing unknown
// fields and trailing data.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("unexpected data after the end of the JSON value")
	}
	return nil
}

// jsonProblem turns an encoding/json error into a message that speaks of
// the input, not of the wire types, with a line number where there is one.
func jsonProblem(data []byte, err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("malformed JSON at line %d: %s", lineOf(data, syn.Offset), syn.Error())
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return fmt.Sprintf("line %d: %s", lineOf(data, typ.Offset), typeProblem(typ))
		}
		return fmt.Sprintf("%s: %s", field, typeProblem(typ))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "malformed JSON: the input ends in the middle of a value"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// typeProblem says what is wrong with a value of the wrong type, or with a
// number too large for its field: encoding/json reports 1e400 for a
// float64 as "a JSON number", the very type asked for.
func typeProblem(typ *json.UnmarshalTypeError) string {
	want := jsonType(typ.Type.String())
	if num, ok := strings.CutPrefix(typ.Value, "number "); ok {
		if f, err := strconv.ParseFloat(num, 64); err == nil && f != math.Trunc(f) {
			return fmt.Sprintf("%s is not %s", num, want)
		}
		if strings.HasPrefix(num, "-") {
			return fmt.Sprintf("%s is too small: expected %s of at least -%s", num, want, maxOf(typ.Type.Kind()))
		}
		return fmt.Sprintf("%s is too large: expected %s of at most %s", num, want, maxOf(typ.Type.Kind()))
	}
	return fmt.Sprintf("expected %s, got a JSON %s", want, typ.Value)
}

// maxOf writes the largest value of a numeric kind.
func maxOf(k reflect.Kind) string {
	if k == reflect.Float64 {
		return strconv.FormatFloat(math.MaxFloat64, 'g', 3, 64)
	}
	return strconv.Itoa(math.MaxInt)
}

func jsonType(goType string) string {
	switch goType {
	case "float64":
		return "a number"
	case "int":
		return "a whole number"
	case "string", "*string":
		return "a string"
	case "[]lab.phaseJSON", "[]json.RawMessage":
		return "an array of phases"
	case "lab.scenarioJSON":
		return "a scenario object"
	}
	return goType
}

func lineOf(data []byte, offset int64) int {
	offset = min(max(offset, 0), int64(len(data)))
	return 1 + bytes.Count(data[:offset], []byte("\n"))
}

func parseScenario(raw json.RawMessage, i int, inArray bool) (Scenario, error) {
	index := 0
	if inArray {
		index = i + 1
	}
	var w scenarioJSON
	if err := decodeStrict(raw, &w); err != nil {
		// Name the scenario even so, when its name can be read.
		var named struct {
			Name string `json:"name"`
		}
		json.Unmarshal(raw, &named)
		return Scenario{}, &ScenarioError{Scenario: named.Name, Index: index, problem: jsonProblem(raw, err)}
	}
	bad := func(field, problem string) error {
		return &ScenarioError{Scenario: w.Name, Index: index, Field: field, problem: problem}
	}
	s := Scenario{
		Name:           w.Name,
		Description:    w.Description,
		Jitter:         w.Jitter,
		Errors:         w.Errors,
		HalfOpenProbes: w.HalfOpenProbes,
	}
	switch {
	case w.Name == "":
		return s, bad("name", "missing")
	case w.Duration == nil:
		return s, bad("duration", `missing: how long the scenario runs, such as "5m"`)
	case w.Rate == nil:
		return s, bad("rate", "missing: calls per second")
	}
	s.Rate = *w.Rate
	var err error
	durations := []struct {
		field string
		src   *string
		dst   *time.Duration
	}{
		{"duration", w.Duration, &s.Duration},
		{"latency", w.Latency, &s.Latency},
		{"slow_call", w.SlowCall, &s.SlowCall},
		{"open_timeout", w.OpenTimeout, &s.OpenTimeout},
	}
	for _, d := range durations {
		if d.src == nil {
			continue
		}
		if *d.dst, err = parseDuration(*d.src); err != nil {
			return s, bad(d.field, err.Error())
		}
	}
	for j, rawPhase := range w.Phases {
		field := func(f string) string { return fmt.Sprintf("phases[%d].%s", j, f) }
		var pw phaseJSON
		if err := decodeStrict(rawPhase, &pw); err != nil {
			f, problem := phaseProblem(rawPhase, err)
			return s, bad(strings.TrimSuffix(field(f), "."), problem)
		}
		p := Phase{Name: pw.Name, Errors: Steady(s.Errors), Latency: Steady(s.Latency)}
		if pw.Start == nil {
			return s, bad(field("start"), "missing")
		}
		if pw.End == nil {
			return s, bad(field("end"), "missing")
		}
		if p.Start, err = parseDuration(*pw.Start); err != nil {
			return s, bad(field("start"), err.Error())
		}
		if p.End, err = parseDuration(*pw.End); err != nil {
			return s, bad(field("end"), err.Error())
		}
		if present(pw.Errors) {
			if p.Errors, err = parseRate(pw.Errors); err != nil {
				return s, bad(field("errors"), err.Error())
			}
		}
		if present(pw.Latency) {
			if p.Latency, err = parseLatency(pw.Latency); err != nil {
				return s, bad(field("latency"), err.Error())
			}
		}
		s.Phases = append(s.Phases, p)
	}
	if err := s.Validate(); err != nil {
		var se *ScenarioError
		if errors.As(err, &se) {
			se.Index = index
		}
		return s, err
	}
	return s, nil
}

// phaseProblem turns a decoding error of one phase into the field at
// fault, inside the phase, and what is wrong with it.
func phaseProblem(data []byte, err error) (field, problem string) {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) && typ.Field != "" {
		return typ.Field, typeProblem(typ)
	}
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
		name, _ := strconv.Unquote(strings.TrimPrefix(msg, "json: unknown field "))
		return name, "unknown field: a phase has name, start, end, errors and latency"
	}
	if errors.As(err, &typ) {
		return "", fmt.Sprintf("expected a phase object, got a JSON %s", typ.Value)
	}
	return "", jsonProblem(data, err)
}

// present tells whether an optional field was given a value: absent and
// null both mean "as the baseline".
func present(raw json.RawMessage) bool {
	return raw != nil && string(raw) != "null"
}

func parseDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration: write it like \"90s\", \"1m30s\" or \"250ms\"", v)
	}
	return d, nil
}

// parseRate reads an error-rate ramp: a number or a pair of numbers.
func parseRate(raw json.RawMessage) (Ramp[float64], error) {
	var one float64
	if json.Unmarshal(raw, &one) == nil {
		return Steady(one), nil
	}
	var two []float64
	if json.Unmarshal(raw, &two) == nil && len(two) == 2 {
		return Linear(two[0], two[1]), nil
	}
	return Ramp[float64]{}, fmt.Errorf("must be a number, or a pair [from, to] for a linear ramp; got %s", raw)
}

// parseLatency reads a latency ramp: a duration string or a pair of them.
func parseLatency(raw json.RawMessage) (Ramp[time.Duration], error) {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		d, err := parseDuration(one)
		return Steady(d), err
	}
	var two []string
	if json.Unmarshal(raw, &two) == nil && len(two) == 2 {
		from, err := parseDuration(two[0])
		if err != nil {
			return Ramp[time.Duration]{}, err
		}
		to, err := parseDuration(two[1])
		return Linear(from, to), err
	}
	return Ramp[time.Duration]{}, fmt.Errorf("must be a duration string, or a pair [from, to] for a linear ramp; got %s", raw)
}
