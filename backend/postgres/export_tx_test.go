package postgres

// WorkChannel is the LISTEN/NOTIFY channel of wake-ups, for the
// transactional enqueue tests' probe.
const WorkChannel = workChannel
