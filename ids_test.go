package flowfabric_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"

	ff "github.com/flowfabric-go/flowfabric"
)

const sampleUUID = "550e8400-e29b-41d4-a716-446655440000"

func TestParseExecutionIDRoundTrip(t *testing.T) {
	tests := []struct {
		in        string
		partition uint16
	}{
		{"{fp:0}:" + sampleUUID, 0},
		{"{fp:86}:" + sampleUUID, 86},
		{"{fp:255}:" + sampleUUID, 255},
		// The partition is not checked against the configured count.
		{"{fp:65535}:" + sampleUUID, 65535},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			id, err := ff.ParseExecutionID(tc.in)
			noErr(t, err)
			if id.Partition != tc.partition || id.UUID != uuid.MustParse(sampleUUID) {
				t.Fatalf("parsed %+v", id)
			}
			if got := id.String(); got != tc.in {
				t.Fatalf("String() = %q, want %q", got, tc.in)
			}
		})
	}
	minted := ff.NewExecutionID("workers-a")
	back, err := ff.ParseExecutionID(minted.String())
	noErr(t, err)
	if back != minted {
		t.Fatalf("round trip %v -> %v", minted, back)
	}
}

func TestParseExecutionIDRejects(t *testing.T) {
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"bare uuid", sampleUUID},
		{"missing braces", "fp:1:" + sampleUUID},
		{"missing open brace", "fp:1}:" + sampleUUID},
		{"missing close brace", "{fp:1:" + sampleUUID},
		{"missing colon after brace", "{fp:1}" + sampleUUID},
		{"empty partition", "{fp:}:" + sampleUUID},
		{"empty partition and uuid", "{fp:}:"},
		{"partition overflows u16", "{fp:70000}:" + sampleUUID},
		{"partition 65536", "{fp:65536}:" + sampleUUID},
		{"negative partition", "{fp:-1}:" + sampleUUID},
		{"plus sign", "{fp:+1}:" + sampleUUID},
		{"leading zero", "{fp:01}:" + sampleUUID},
		{"double zero", "{fp:00}:" + sampleUUID},
		{"hex partition", "{fp:0x1}:" + sampleUUID},
		{"space in partition", "{fp: 1}:" + sampleUUID},
		{"wrong family", "{b:1}:" + sampleUUID},
		{"missing uuid", "{fp:1}:"},
		{"bad uuid", "{fp:1}:550e8400-e29b-41d4-a716-44665544zzzz"},
		{"short uuid", "{fp:1}:550e8400-e29b-41d4-a716-44665544000"},
		{"uuid without dashes", "{fp:1}:550e8400e29b41d4a716446655440000"},
		{"braced uuid", "{fp:1}:{" + sampleUUID + "}"},
		{"urn uuid", "{fp:1}:urn:uuid:" + sampleUUID},
		{"trailing junk", "{fp:1}:" + sampleUUID + "x"},
		{"trailing space", "{fp:1}:" + sampleUUID + " "},
		{"leading space", " {fp:1}:" + sampleUUID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ff.ParseExecutionID(tc.in)
			wantErr(t, err, ff.ClassValidation, ff.ErrInvalidInput)
		})
	}
}

func TestExecutionIDTextAndJSON(t *testing.T) {
	id := ff.NewExecutionID("default")
	text, err := id.MarshalText()
	noErr(t, err)
	if string(text) != id.String() {
		t.Fatalf("MarshalText = %q, want %q", text, id.String())
	}
	var back ff.ExecutionID
	noErr(t, back.UnmarshalText(text))
	if back != id {
		t.Fatalf("text round trip %v -> %v", id, back)
	}

	type doc struct {
		ID ff.ExecutionID `json:"id"`
	}
	raw, err := json.Marshal(doc{ID: id})
	noErr(t, err)
	if want := `{"id":"` + id.String() + `"}`; string(raw) != want {
		t.Fatalf("json = %s, want %s", raw, want)
	}
	var d doc
	noErr(t, json.Unmarshal(raw, &d))
	if d.ID != id {
		t.Fatalf("json round trip %v -> %v", id, d.ID)
	}

	// JSON decoding validates the shape: a bare UUID is rejected.
	err = json.Unmarshal([]byte(`{"id":"`+sampleUUID+`"}`), &d)
	wantErr(t, err, ff.ClassValidation, ff.ErrInvalidInput)
}

func TestExecutionIDUnmarshalTextRejectsAndKeepsValue(t *testing.T) {
	orig := ff.NewExecutionID("default")
	for _, bad := range []string{"", sampleUUID, "{fp:}:", "{fp:70000}:" + sampleUUID, "{fp:01}:" + sampleUUID} {
		id := orig
		err := id.UnmarshalText([]byte(bad))
		wantErr(t, err, ff.ClassValidation, ff.ErrInvalidInput)
		if id != orig {
			t.Fatalf("UnmarshalText(%q) changed the value to %v", bad, id)
		}
	}
}

func TestValidateLane(t *testing.T) {
	tests := []struct {
		name string
		lane string
		ok   bool
	}{
		{"simple", "default", true},
		{"punctuation", "workers-a.b_c:d/e", true},
		{"space is printable", "my lane", true},
		{"tilde (0x7e)", "~", true},
		{"64 bytes", strings.Repeat("a", 64), true},
		{"empty", "", false},
		{"65 bytes", strings.Repeat("a", 65), false},
		{"tab", "a\tb", false},
		{"newline", "a\n", false},
		{"nul", "a\x00", false},
		{"DEL", "a\x7f", false},
		{"unicode", "läne", false},
		{"emoji", "lane-🚀", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ff.ValidateLane(tc.lane)
			if tc.ok {
				noErr(t, err)
				return
			}
			wantErr(t, err, ff.ClassValidation, ff.ErrInvalidInput)
		})
	}
}

func TestValidateIdentifier(t *testing.T) {
	tests := []struct {
		name string
		v    string
		ok   bool
	}{
		{"simple", "worker-1", true},
		{"unicode letters", "wörker-工人", true},
		{"emoji", "🚀", true},
		{"punctuation", "host:1234/pid=7", true},
		{"256 bytes", strings.Repeat("w", 256), true},
		{"empty", "", false},
		{"257 bytes", strings.Repeat("w", 257), false},
		{"space", "worker 1", false},
		{"tab", "worker\t1", false},
		{"newline", "worker\n", false},
		{"nul", "w\x00", false},
		{"DEL", "w\x7f", false},
		{"C1 control", "w\u0085x", false},
		{"C1 control 0x9b", "w\u009bx", false},
		{"no-break space", "w\u00a0x", false},
		{"ideographic space", "w\u3000x", false},
		{"em space", "w\u2003x", false},
		{"line separator", "w\u2028x", false},
		{"invalid utf-8", "w\xffx", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ff.ValidateIdentifier("worker_id", tc.v)
			if tc.ok {
				noErr(t, err)
				return
			}
			e := wantErr(t, err, ff.ClassValidation, ff.ErrInvalidInput)
			if !strings.Contains(e.Detail, "worker_id") {
				t.Fatalf("detail %q does not name the field", e.Detail)
			}
		})
	}
}

func TestValidateKind(t *testing.T) {
	tests := []struct {
		name string
		kind string
		ok   bool
	}{
		{"simple", "send_email", true},
		{"dotted", "billing.charge.v2", true},
		{"space allowed", "send email", true},
		{"unicode", "envoyer-courriel-é", true},
		{"256 bytes", strings.Repeat("k", 256), true},
		{"empty", "", false},
		{"257 bytes", strings.Repeat("k", 257), false},
		{"newline", "a\nb", false},
		{"tab", "a\tb", false},
		{"nul", "a\x00", false},
		{"DEL", "a\x7f", false},
		{"invalid utf-8", "a\xc3", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ff.ValidateKind(tc.kind)
			if tc.ok {
				noErr(t, err)
				return
			}
			wantErr(t, err, ff.ClassValidation, ff.ErrInvalidInput)
		})
	}
}

func TestValidateTags(t *testing.T) {
	tests := []struct {
		name string
		tags map[string]string
		kind ff.ErrorKind // "" means valid
	}{
		{"nil", nil, ""},
		{"empty", map[string]string{}, ""},
		{"simple", map[string]string{"app.x": "1"}, ""},
		{"digits and underscore in prefix", map[string]string{"a1_b.field": "v"}, ""},
		{"dots in field", map[string]string{"app.x.y": "v"}, ""},
		{"uppercase field", map[string]string{"app.X": "v"}, ""},
		{"empty value", map[string]string{"app.x": ""}, ""},
		{"unicode value", map[string]string{"app.x": "wörld"}, ""},
		{"uppercase prefix", map[string]string{"App.x": "v"}, ff.ErrInvalidTagKey},
		{"no dot", map[string]string{"app": "v"}, ff.ErrInvalidTagKey},
		{"leading dot", map[string]string{".x": "v"}, ff.ErrInvalidTagKey},
		{"double dot", map[string]string{"app..x": "v"}, ff.ErrInvalidTagKey},
		{"trailing dot", map[string]string{"app.": "v"}, ff.ErrInvalidTagKey},
		{"digit first", map[string]string{"1app.x": "v"}, ff.ErrInvalidTagKey},
		{"underscore first", map[string]string{"_app.x": "v"}, ff.ErrInvalidTagKey},
		{"dash in prefix", map[string]string{"my-app.x": "v"}, ff.ErrInvalidTagKey},
		{"empty key", map[string]string{"": "v"}, ff.ErrInvalidTagKey},
		{"control char in field", map[string]string{"app.x\n": "v"}, ff.ErrInvalidTagKey},
		{"invalid utf-8 value", map[string]string{"app.x": "\xff"}, ff.ErrInvalidInput},
		{"one bad among good", map[string]string{"app.x": "1", "App.y": "2"}, ff.ErrInvalidTagKey},
		{"64 entries", nTags(64, 1), ""},
		{"65 entries", nTags(65, 1), ff.ErrInvalidTagKey},
		{"4096 bytes", map[string]string{"app.x": strings.Repeat("v", 4096-5)}, ""},
		{"4097 bytes", map[string]string{"app.x": strings.Repeat("v", 4097-5)}, ff.ErrInvalidInput},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ff.ValidateTags(tc.tags)
			if tc.kind == "" {
				noErr(t, err)
				return
			}
			wantErr(t, err, ff.ClassValidation, tc.kind)
		})
	}
}

func nTags(n, valueLen int) map[string]string {
	m := make(map[string]string, n)
	for i := range n {
		m["app.k"+strings.Repeat("x", i)] = strings.Repeat("v", valueLen)
	}
	return m
}
