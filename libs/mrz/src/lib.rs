//! ICAO 9303 machine-readable zones.
