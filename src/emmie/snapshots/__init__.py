"""The evidence as of a date: a living review's snapshots (``review.yaml`` ``snapshots``).

Each snapshot rebuilds every stage, the rating and the findings from the sources public
by its date, so the report can show what was known then against what is known now.
"""
