"""The RadioCalico station: plays a music library as a lossless live HLS stream.

    from radiocalico.station import Station
    station = Station.from_config(config)
    station.start()   # background thread; returns when the first segment is out
    ...
    station.stop()

Output (see `hls` and `station` for details): ``<out>/hls/live.m3u8`` (master playlist),
``<out>/hls/live_flac.m3u8`` (media playlist), ``<out>/hls/init-<hash>.mp4`` and ``seg-<id>-<seq>.m4s``
(FLAC in fragmented MP4, 48 kHz / 24-bit / stereo), ``<out>/metadatav2.json`` and
``<out>/cover.jpg``.
The fields of metadatav2.json (the CDN's, plus ``started_at``/``prev_started_at_N`` on the
program-date-time clock, ``song_id``/``prev_song_id_N``, ``cover_version`` and the stream
format) are documented in `radiocalico.station.station`.
"""

from .demo import ensure_demo_library
from .errors import StationError
from .library import Track, scan_library
from .station import Station, build_metadata

__all__ = ["Station", "StationError", "Track", "build_metadata", "ensure_demo_library", "scan_library"]
