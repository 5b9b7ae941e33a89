-- Schema version 3: indexes for summaries (summary.c).  Every query of a
-- summary reads only the records of its range through an index, so that a
-- summary of today costs the same after ten years as on the first day;
-- store_summary_explain and tests/unit/test_summary.c check it.

-- Patrols that started before a range and ended inside it or after it.
CREATE INDEX patrol_ended ON patrol(end_ms) WHERE end_ms IS NOT NULL;
