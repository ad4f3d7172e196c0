"""A Modbus server for the bridge's tests, built on pymodbus 3.0 (Debian's
python3-pymodbus): an implementation independent of the bridge.

  server.py --rtu /dev/pts/N | --tcp PORT  --spec spec.json

spec.json holds the data of each unit id:
  {"1": {"hr": [..], "ir": [..], "co": [..], "di": [..]}, "2": {...}}
Each table starts at protocol address 0; reads past its end get exception
2 (illegal data address). Once serving, the script prints "ready". On
standard input it takes "get UNIT TABLE ADDRESS COUNT" and prints the
values as a JSON list, so a test can see what a write changed.
"""

import argparse
import asyncio
import json
import logging
import sys
import threading

from pymodbus.datastore import (ModbusSequentialDataBlock, ModbusServerContext,
                                ModbusSlaveContext)
from pymodbus.server import StartAsyncSerialServer, StartAsyncTcpServer
from pymodbus.transaction import ModbusRtuFramer

FC = {"co": 1, "di": 2, "hr": 3, "ir": 4}


def build_context(spec):
    slaves = {}
    for unit, tables in spec.items():
        blocks = {}
        for name in ("co", "di", "hr", "ir"):
            values = tables.get(name) or [0]
            blocks[name] = ModbusSequentialDataBlock(0, values)
        slaves[int(unit)] = ModbusSlaveContext(zero_mode=True, **blocks)
    return ModbusServerContext(slaves=slaves, single=False)


def serve_stdin(context):
    for line in sys.stdin:
        parts = line.split()
        if len(parts) != 5 or parts[0] != "get":
            print(json.dumps({"error": "bad command"}), flush=True)
            continue
        unit, table, addr, count = int(parts[1]), parts[2], int(parts[3]), int(parts[4])
        values = context[unit].getValues(FC[table], addr, count)
        print(json.dumps([int(v) for v in values]), flush=True)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rtu")
    ap.add_argument("--tcp", type=int)
    ap.add_argument("--baud", type=int, default=115200)
    ap.add_argument("--spec", required=True)
    args = ap.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    for name in ("pymodbus", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)
    with open(args.spec) as f:
        context = build_context(json.load(f))
    if args.tcp:
        server = await StartAsyncTcpServer(context=context, address=("127.0.0.1", args.tcp),
                                           defer_start=True, allow_reuse_address=True)
    else:
        server = await StartAsyncSerialServer(context=context, port=args.rtu, framer=ModbusRtuFramer,
                                              baudrate=args.baud, defer_start=True)
        await server.start()
    threading.Thread(target=serve_stdin, args=(context,), daemon=True).start()
    task = asyncio.ensure_future(server.serve_forever())
    await asyncio.sleep(0.1)
    print("ready", flush=True)
    await task


if __name__ == "__main__":
    asyncio.run(main())
