package flowfabric

import "github.com/google/uuid"

// DefaultFlowPartitions is the number of flow/execution partitions. It is
// fixed per deployment: changing it re-routes newly minted ids only, because
// an ExecutionId carries its partition and it is never recomputed.
const DefaultFlowPartitions = 256

// CRC16 computes CRC-16/XMODEM (polynomial 0x1021, initial value 0, no
// reflection, no final XOR), the checksum Redis Cluster uses for hash slots.
// CRC16([]byte("123456789")) == 0x31C3.
func CRC16(data []byte) uint16 {
	var crc uint16
	for _, b := range data {
		crc ^= uint16(b) << 8
		for i := 0; i < 8; i++ {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// LanePartition is the partition of a standalone execution on lane: the
// CRC16 of the lane's UTF-8 bytes modulo partitions.
func LanePartition(lane string, partitions uint16) uint16 {
	if partitions == 0 {
		partitions = DefaultFlowPartitions
	}
	return CRC16([]byte(lane)) % partitions
}

// FlowPartition is the partition of a flow and of every member execution:
// the CRC16 of the flow id's 16 raw UUID bytes (not its text) modulo
// partitions.
func FlowPartition(flow uuid.UUID, partitions uint16) uint16 {
	if partitions == 0 {
		partitions = DefaultFlowPartitions
	}
	return CRC16(flow[:]) % partitions
}
