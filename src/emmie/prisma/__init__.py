"""PRISMA 2020: arithmetic between the flow's boxes and the flow diagram (Page et al. 2021)."""

from emmie.prisma.flow import RELATIONS, check_arithmetic, counts, flow_boxes, flow_diagram

__all__ = ["RELATIONS", "check_arithmetic", "counts", "flow_boxes", "flow_diagram"]
