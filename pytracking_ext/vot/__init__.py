"""VOT toolkit integration: a TraX server for registered trackers and its ``trackers.ini`` entry.

``python -m pytracking_ext.vot serve TRACKER PARAM`` is what the toolkit runs;
``python -m pytracking_ext.vot trackers-ini TRACKER PARAM`` prints the entry that runs it.
The ``vot-trax`` package is imported only when serving.
"""

from .regions import InitRegion, decode_init_region, init_info, output_regions
from .relay import ClientGone, TraxProtocolError
from .server import VotSession, build_vot_tracker, region_formats, require_trax, serve, serve_requests
from .trackers_ini import serve_command, trackers_ini_entry

__all__ = [
    "ClientGone",
    "InitRegion",
    "TraxProtocolError",
    "VotSession",
    "build_vot_tracker",
    "decode_init_region",
    "init_info",
    "output_regions",
    "region_formats",
    "require_trax",
    "serve",
    "serve_command",
    "serve_requests",
    "trackers_ini_entry",
]
