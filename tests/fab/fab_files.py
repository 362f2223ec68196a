"""Tiny hand-made SMT2020 data sets for the reader's tests (written into ``tmp_path`` by ``conftest``).

Rows are written with ``|`` between cells for legibility; :func:`tsv` turns them into tab-separated
lines. ``BASE_FILES`` is a complete small data set that exercises what HVLM does not: critical-ratio
ranking, cascading, batching, rework, sampling, dedication, queue-time limits, count-based and
station-level PMs, setups with minimum runs, transport and reference files.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

Files = Mapping[str, str | None]
MakeDataset = Callable[..., Path]
"""The ``make_dataset`` fixture: ``make_dataset({file: text or None}) -> directory``."""


def tsv(*rows: str) -> str:
    """Lines whose cells are separated by ``|`` in the test source, as a tab-separated file."""
    return "".join(row.replace("|", "\t") + "\n" for row in rows)


TOOLS = tsv(
    "STNFAM|STN|RULE|FWLRANK|WAKERESRANK|BATCHCRITF|BATCHPER|LTIME|LTUNITS|ULTIME|ULTUNITS|STNCAP|STNQTY|STNGRP|STNFAMSTEP_ACTLIST|STNFAMLOC|PRERULERWL|SETUPGRP",
    "LITHO|LITHO|rule_HotLotFIRST|rank_HP;rank_RSETUP;rank_CR|wake_LeastSetupTime|||1.0|min|1.0|min||2.0|Litho|act|Fab|no|",
    "FURNACE|FURNACE|rule_HotLotFIRST|rank_HP;rank_FIFO||crit_sameroutestep|piece|1.0|min|1.0|min||1.0|Diffusion|act|Fab|no|",
    "WET|WET|rule_HotLotFIRST|rank_HP;rank_FIFO||||30|sec|30|sec|2.0|1.0|Diffusion|act|Fab|no|",
    "IMP|IMP|rule_LSSU|rank_HP;rank_RSETUP;rank_FIFO||||1.0|min|1.0|min||3.0|Implant|act|Fab|no|GasGrp",
    "DELAY|Delay1|rule_HotLotFIRST|rank_FIFO||||0.0|min|0.0|min||100.0|Delay|act|Delay|no|",
)

PARTS = tsv(
    "PARTGRP|PARTFAM|PART|ROUTEFILE|ROUTE",
    "Saleable|product_A|part_A|route_A.txt|r_A",
    "Engineering|product_B|part_B|route_B.txt|r_B",
)

ROUTE_HEADER = (
    "ROUTE|STEP|DESC|STNFAM|PDIST|PTIME|PTIME2|PTUNITS|PTPER|BATCHMN|BATCHMX|SETUP|WHEN|STIME|STUNITS|"
    "SVESTN|FORSTEP|BatchInterval|BatchIntUnits|PartInterval|PartIntUnits|RWKSTEP|REWORK|RWKTYPE|"
    "StepPercent|STEP_CQT|CQT|CQTUNITS|IGNORE"
)


def route_row(route: str, step: str, family: str, **cells: str) -> str:
    """A route line with the given cells (by column name); the rest empty."""
    columns = ROUTE_HEADER.split("|")
    values = dict.fromkeys(columns, "")
    values.update(ROUTE=route, STEP=step, DESC=f"{step}_{family}", STNFAM=family)
    values.update({"PDIST": "constant", "PTIME": "10", "PTUNITS": "min", "PTPER": "per_lot"})
    values.update(cells)
    return "|".join(values[c] for c in columns)


ROUTE_A = tsv(
    ROUTE_HEADER,
    # line 2: a batch step (uniform 100 ± 5 min per batch of 50–75 wafers)
    route_row(
        "r_A",
        "10",
        "FURNACE",
        PDIST="uniform",
        PTIME="100",
        PTIME2="5",
        PTPER="per_batch",
        BATCHMN="50",
        BATCHMX="75",
    ),
    # line 3: wafers cascade 0.5 min apart; a critical queue time of 2 h until step 30
    route_row(
        "r_A",
        "20",
        "WET",
        PTIME="1",
        PTPER="per_piece",
        PartInterval="0.5",
        PartIntUnits="min",
        STEP_CQT="30",
        CQT="2",
        CQTUNITS="hr",
    ),
    # line 4: litho step whose tool must also do step 50 (lot-to-lens dedication)
    route_row("r_A", "30", "LITHO", PTIME="2", PTPER="per_piece", SVESTN="yes", FORSTEP="50"),
    # line 5: a setup when needed, time from setup.txt
    route_row("r_A", "40", "IMP", PTIME="0.5", PTUNITS="hr", SETUP="SU1", WHEN="need"),
    # line 6: a route setup time given on the step itself
    route_row("r_A", "50", "LITHO", SETUP="RET_7", WHEN="always", STIME="8", STUNITS="min"),
    # line 7: sampled half the time; 2 % of lots go back to step 50
    route_row("r_A", "60", "LITHO", PTIME="5", RWKSTEP="50", REWORK="2", RWKTYPE="lot", StepPercent="50"),
    # line 8: a pure delay
    route_row("r_A", "70", "DELAY", PTIME="2", PTUNITS="day"),
    # line 9: lots cascade 30 min apart
    route_row("r_A", "80", "WET", PTIME="40", BatchInterval="30", BatchIntUnits="min"),
)

ROUTE_B = tsv(
    ROUTE_HEADER,
    route_row("r_B", "1", "LITHO", PDIST="exponential", PTIME="3"),
    route_row("r_B", "2", "IMP", SETUP="SU2", WHEN="need"),
)

ORDERS = tsv(
    "LOT|PART|PRIOR|PIECES|START|RDIST|REPEAT|RUNITS|RPT#|LOTSPERRPT|DUE|ORDER|HOTLOT",
    "Lot_A|part_A|10|25|01/01/18 00:00:00|constant|1|hr|1000|2|01/11/18 00:00:00|O_Lot_A|no",
    "HotLot_A|part_A|20|25|01/01/18 12:00:00|constant|1|day|50|1|01/06/18 12:00:00|O_HotLot_A|no",
)

WIP = tsv(
    "LOT|PART|PRIOR|PIECES|START|CURSTEP|DUE|ORDER|HOTLOT|TRACE",
    "Init_Lot_A_1|part_A|10|25|12/31/17 00:00:00|40|01/02/18 00:00:00|O_Init_WIP||",
    "Init_SuperHotLot_B_1|part_B|30|13|01/01/18 00:00:00|2|01/01/18 06:00:00|O_Init_WIP",
)

DOWNCAL = tsv(
    "DOWNCALNAME|DOWNCALTYPE|MTTFDIST|MTTF|MTTFUNITS|MTTRDIST|MTTR|MTTR2|MTTRUNITS|IGNORE",
    "BREAK_Diffusion|mttf_by_cal|exponential|7|day|exponential|2||hr|Diffusion",
    "BREAK_Litho|mttf_by_cal|exponential|10080|min|uniform|60|30|min|Litho",
)

PMCAL = tsv(
    "PMCALNAME|PMCALTYPE|MTBPM|MTBPMUNITS|MTTRDIST|MTTR|MTTR2|MTTRUNITS|IGNORE",
    "WET_WK|mtbpm_by_pieces|5000|pieces|uniform|8|1.5|hr|Diffusion",
    "LITHO_MN|mtbpm_by_cal|30|day|uniform|13|2|hr|Litho",
    "IMP_ONE|mtbpm_by_cal|2|week|constant|90||min|Implant",
)

ATTACH = tsv(
    "CALNAME|CALTYPE|RESTYPE|RESNAME|FOADIST|FOA|FOAUNITS",
    "BREAK_Diffusion|down|stngrp|Diffusion|exponential|7|day",
    "BREAK_Litho|down|stnfam|LITHO|||",
    "WET_WK|pm|stnfam|WET|constant|5200|",
    "LITHO_MN|pm|stnfam|LITHO|constant|27.5|day",
    "IMP_ONE|pm|stn|IMP|constant|36|hr",
)

SETUPS = tsv(
    "CURSETUP|NEWSETUP|STIME|STUNITS|IGNORE",
    "SU1|SU2|7|min|IMP",
    "|SU2|20|min|IMP",
    "|SU1|0.25|hr|IMP",
)

SETUP_GROUPS = tsv(
    "SETUPGRP|SETUP|MINRUN|IGNORE",
    "GasGrp|SU1|5|IMP",
    "|SU2|3|IMP",
)

FROMTO = tsv(
    "FROMLOC|TOLOC|DDIST|DTIME|DTIME2|DUNITS",
    "Fab|Fab|uniform|7.5|2.5|min",
)

REFERENCE_LOTS = "name th act on_time\nLot_A 100.5 40.25 91.5\nHotLot_A 10 20 99"
REFERENCE_TOOLGROUPS = "name avail util br pm setup\nLITHO 95.5 80.25 1.5 3 2.5\n"

BASE_FILES: dict[str, str] = {
    "tool.txt.1l": TOOLS,
    "part.txt": PARTS,
    "route_A.txt": ROUTE_A,
    "route_B.txt": ROUTE_B,
    "order.txt": ORDERS,
    "WIP.txt": WIP,
    "downcal.txt": DOWNCAL,
    "pmcal.txt": PMCAL,
    "attach.txt": ATTACH,
    "setup.txt": SETUPS,
    "setupgrp.txt": SETUP_GROUPS,
    "fromto.txt": FROMTO,
    "reference_lots.txt": REFERENCE_LOTS,
    "reference_toolgroups.txt": REFERENCE_TOOLGROUPS,
}


def write_files(directory: Path, files: Files) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        if text is not None:
            (directory / name).write_text(text, encoding="utf-8")
    return directory
