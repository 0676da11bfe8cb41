package flowfabric_test

import (
	"testing"

	"github.com/google/uuid"

	ff "github.com/flowfabric-go/flowfabric"
)

// The vectors of spec §6.3: CRC-16/XMODEM over raw UUID bytes for flows and
// over UTF-8 bytes for lanes.
func TestCRC16Vectors(t *testing.T) {
	flowA := uuid.MustParse("550e8400-e29b-41d4-a716-446655440000")
	flowB := uuid.MustParse("11111111-1111-4111-8111-111111111111")
	tests := []struct {
		name  string
		input []byte
		crc   uint16
	}{
		{"check value", []byte("123456789"), 0x31C3},
		{"empty", nil, 0x0000},
		{"flow 550e8400 raw bytes", flowA[:], 0x9018},
		{"uuid 11111111 raw bytes", flowB[:], 0x76bf},
		{"lane default", []byte("default"), 0xd656},
		{"lane workers-a", []byte("workers-a"), 0x2ec1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ff.CRC16(tc.input); got != tc.crc {
				t.Fatalf("CRC16 = %#04x, want %#04x", got, tc.crc)
			}
		})
	}
}

func TestFlowPartitionUsesRawBytes(t *testing.T) {
	tests := []struct {
		flow       string
		partitions uint16
		want       uint16
	}{
		{"550e8400-e29b-41d4-a716-446655440000", 256, 24},
		{"550e8400-e29b-41d4-a716-446655440000", 0, 24}, // 0 means the default (256)
		{"11111111-1111-4111-8111-111111111111", 256, 191},
		{"11111111-1111-4111-8111-111111111111", 32, 31},
	}
	for _, tc := range tests {
		got := ff.FlowPartition(uuid.MustParse(tc.flow), tc.partitions)
		if got != tc.want {
			t.Errorf("FlowPartition(%s, %d) = %d, want %d", tc.flow, tc.partitions, got, tc.want)
		}
	}
	// The text form hashes differently: guard against hashing the string.
	u := uuid.MustParse("550e8400-e29b-41d4-a716-446655440000")
	if ff.CRC16([]byte(u.String()))%256 == 24 {
		t.Fatalf("text form hashes to the same partition; vector no longer discriminates")
	}
}

func TestLanePartition(t *testing.T) {
	tests := []struct {
		lane       string
		partitions uint16
		want       uint16
	}{
		{"default", 256, 86},
		{"default", 0, 86},
		{"workers-a", 256, 193},
	}
	for _, tc := range tests {
		if got := ff.LanePartition(tc.lane, tc.partitions); got != tc.want {
			t.Errorf("LanePartition(%q, %d) = %d, want %d", tc.lane, tc.partitions, got, tc.want)
		}
	}
}

func TestNewIDsArePartitioned(t *testing.T) {
	id := ff.NewExecutionID("default")
	if id.Partition != 86 {
		t.Fatalf("NewExecutionID(default).Partition = %d, want 86", id.Partition)
	}
	if id.IsZero() {
		t.Fatal("minted id is zero")
	}
	if other := ff.NewExecutionID("default"); other.UUID == id.UUID {
		t.Fatal("two minted ids share a uuid")
	}
	for _, s := range []string{"550e8400-e29b-41d4-a716-446655440000", "11111111-1111-4111-8111-111111111111"} {
		flow := uuid.MustParse(s)
		m := ff.NewFlowMemberID(flow)
		if want := ff.FlowPartition(flow, ff.DefaultFlowPartitions); m.Partition != want {
			t.Errorf("NewFlowMemberID(%s).Partition = %d, want %d", s, m.Partition, want)
		}
	}
}

func TestPartitionKey(t *testing.T) {
	for p, want := range map[uint16]string{0: "{fp:0}", 7: "{fp:7}", 65535: "{fp:65535}"} {
		if got := ff.PartitionKey(p); got != want {
			t.Errorf("PartitionKey(%d) = %q, want %q", p, got, want)
		}
	}
}
