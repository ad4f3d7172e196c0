package modbus

import (
	"cmp"
	"slices"

	"github.com/leafbox/leafbox/bridge"
)

// span is one read request covering several points of one table.
type span struct {
	req    request
	table  bridge.ModbusTable
	points []int // indices into the device's points
}

// fcRead is the read function code of each table.
var fcRead = map[bridge.ModbusTable]byte{
	bridge.TableCoil: fcReadCoils, bridge.TableDiscrete: fcReadDiscrete,
	bridge.TableHolding: fcReadHolding, bridge.TableInput: fcReadInput,
}

// plan coalesces points (indices into pts, defaults applied) into as few
// reads as the protocol allows: per table, sorted by address, a point
// joins the current read when at most maxGap unmapped registers (or bits)
// lie between them and the read stays within maxRegs registers (or
// MaxModbusBits bits).
func plan(pts []bridge.ModbusPoint, idx []int, maxGap, maxRegs int) []span {
	order := slices.Clone(idx)
	slices.SortStableFunc(order, func(a, b int) int {
		pa, pb := &pts[a], &pts[b]
		if c := cmp.Compare(pa.Table, pb.Table); c != 0 {
			return c
		}
		return cmp.Compare(pa.Address, pb.Address)
	})
	var out []span
	var end int // one past the last register of the current span
	for _, i := range order {
		p := &pts[i]
		limit := maxRegs
		if p.Table.Bits() {
			limit = bridge.MaxModbusBits
		}
		pEnd := p.Address + p.Registers()
		if n := len(out); n > 0 {
			cur := &out[n-1]
			start := int(cur.req.addr)
			if cur.table == p.Table && p.Address-end <= maxGap && max(end, pEnd)-start <= limit {
				end = max(end, pEnd)
				cur.req.qty = uint16(end - start)
				cur.points = append(cur.points, i)
				continue
			}
		}
		out = append(out, span{
			req:    request{fc: fcRead[p.Table], addr: uint16(p.Address), qty: uint16(p.Registers())},
			table:  p.Table,
			points: []int{i},
		})
		end = pEnd
	}
	return out
}
