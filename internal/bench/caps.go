package bench

import "fmt"

// capToken names capability set i.
func capToken(i int) string { return fmt.Sprintf("bench-cap-%02d", i) }

// withCapSets routes s by capability: worker slots 0..W-1 are dealt to
// the sets round-robin (slot k belongs to set k mod sets), one worker per
// set with as many slots as it was dealt, and job n requires the set of
// slot n mod W. Every set therefore gets jobs in proportion to its
// concurrency, and the sets share the one lane.
func withCapSets(s *system, sets int) *system {
	w := s.cfg.Workers
	s.groups = make([]group, sets)
	for i := range s.groups {
		s.groups[i].caps = []string{capToken(i)}
	}
	for k := range w {
		s.groups[k%sets].concurrency++
	}
	tokens := make([][]string, sets)
	for i := range tokens {
		tokens[i] = []string{capToken(i)}
	}
	s.capsOf = func(n int) []string { return tokens[(n%w)%sets] }
	return s
}
