"""The RadioCalico station: plays a music library as a lossless live HLS stream.

    from radiocalico.station import Station
    station = Station.from_config(config)
    station.start()   # background thread; returns when the first segment is out
    ...
    station.stop()

The output's file names are `radiocalico.stream_layout`'s: the master playlist, one media
playlist per rendition of the quality ladder (lossless FLAC 48 kHz / 24-bit: ``live_flac.m3u8``;
AAC-LC 256 kbit/s: ``live_high.m3u8``; AAC-LC 96 kbit/s: ``live_saver.m3u8``; STATION_RENDITIONS
picks them, `encoders` describes them), fMP4 init and media segments, metadatav2.json, cover.jpg
and each listed track's cover by version (covers/<cover_version>.jpg). A restarted station
resumes the interrupted track where it was (see `radiocalico.station.station`).
The pipeline is described in `radiocalico.station.station`; the fields of metadatav2.json
(the CDN's, plus ``started_at``/``prev_started_at_N`` on the program-date-time clock,
``song_id``/``prev_song_id_N``, ``cover_version``/``cover_url`` and their ``prev_*_N``, and the
stream format) in
`radiocalico.station.publisher`.
"""

from .demo import ensure_demo_library
from .errors import StationError
from .library import Track, scan_library
from .publisher import build_metadata
from .station import Station

__all__ = ["Station", "StationError", "Track", "build_metadata", "ensure_demo_library", "scan_library"]
