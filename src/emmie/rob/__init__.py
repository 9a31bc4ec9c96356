"""Risk of bias: robvis-style traffic-light and summary plots (McGuinness & Higgins 2021)."""

from emmie.rob.plots import (
    SCALES,
    rob_table,
    summary_data,
    summary_plot,
    traffic_light_data,
    traffic_light_plot,
)

__all__ = ["SCALES", "rob_table", "summary_data", "summary_plot", "traffic_light_data", "traffic_light_plot"]
