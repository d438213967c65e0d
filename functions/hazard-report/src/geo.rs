//! Places without a Scan: reports are stored under the geohash cells of their
//! location, a search reads the few cells that cover its circle, and exact
//! great-circle distances decide what is inside. A point just across a cell
//! edge is in a neighbouring cell, which the cover includes whenever the
//! circle reaches it.

use std::collections::BTreeSet;

use shared::http::Invalid;

/// The geohash alphabet (base 32 without a, i, l, o).
const BASE32: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";

/// The mean Earth radius (IUGG), metres.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// South Korea's extent, with its islands (Marado 33.11 N, Dokdo 131.87 E),
/// as a box: a location outside it is refused.
pub const KOREA: Bounds = Bounds {
    lat_min: 33.0,
    lat_max: 38.7,
    lon_min: 124.5,
    lon_max: 132.0,
};

/// A latitude/longitude box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    /// South edge.
    pub lat_min: f64,
    /// North edge.
    pub lat_max: f64,
    /// West edge.
    pub lon_min: f64,
    /// East edge.
    pub lon_max: f64,
}

impl Bounds {
    /// Whether `p` is inside (edges included).
    pub fn contains(&self, p: Point) -> bool {
        (self.lat_min..=self.lat_max).contains(&p.lat)
            && (self.lon_min..=self.lon_max).contains(&p.lon)
    }
}

/// A location in degrees (WGS 84).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Latitude, north positive.
    pub lat: f64,
    /// Longitude, east positive.
    pub lon: f64,
}

impl Point {
    /// A location reported in South Korea; the error names the reason.
    pub fn in_korea(lat: f64, lon: f64) -> Result<Point, Invalid> {
        if !lat.is_finite() || !lon.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(Invalid::new(
                "must be a latitude and longitude in degrees",
                "위도와 경도(도 단위)여야 합니다",
            ));
        }
        let p = Point { lat, lon };
        if KOREA.contains(p) {
            Ok(p)
        } else {
            Err(Invalid::new(
                "must be inside South Korea",
                "대한민국 안의 위치여야 합니다",
            ))
        }
    }

    /// The geohash of this point with `precision` characters.
    pub fn geohash(self, precision: usize) -> String {
        let (mut lat, mut lon) = ((-90.0_f64, 90.0_f64), (-180.0_f64, 180.0_f64));
        let mut hash = String::with_capacity(precision);
        let (mut bits, mut value, mut even) = (0, 0usize, true);
        while hash.len() < precision {
            let (range, x) = if even {
                (&mut lon, self.lon)
            } else {
                (&mut lat, self.lat)
            };
            let mid = (range.0 + range.1) / 2.0;
            value <<= 1;
            if x >= mid {
                value |= 1;
                range.0 = mid;
            } else {
                range.1 = mid;
            }
            even = !even;
            bits += 1;
            if bits == 5 {
                hash.push(char::from(BASE32[value]));
                bits = 0;
                value = 0;
            }
        }
        hash
    }

    /// The great-circle distance to `other`, metres (haversine).
    pub fn distance_m(self, other: Point) -> f64 {
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon - self.lon).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * a.sqrt().clamp(0.0, 1.0).asin()
    }
}

/// The box of the geohash `hash`, or `None` for a character outside the
/// alphabet.
pub fn cell_bounds(hash: &str) -> Option<Bounds> {
    let (mut lat, mut lon) = ((-90.0_f64, 90.0_f64), (-180.0_f64, 180.0_f64));
    let mut even = true;
    for c in hash.bytes() {
        let value = BASE32.iter().position(|&b| b == c)?;
        for shift in (0..5).rev() {
            let range = if even { &mut lon } else { &mut lat };
            let mid = (range.0 + range.1) / 2.0;
            if value >> shift & 1 == 1 {
                range.0 = mid;
            } else {
                range.1 = mid;
            }
            even = !even;
        }
    }
    Some(Bounds {
        lat_min: lat.0,
        lat_max: lat.1,
        lon_min: lon.0,
        lon_max: lon.1,
    })
}

/// The height and width in degrees of the cells of `precision` characters.
pub fn cell_size(precision: usize) -> (f64, f64) {
    let bits = 5 * precision;
    let lon_bits = bits.div_ceil(2);
    let lat_bits = bits / 2;
    (
        180.0 / f64::from(1u32 << lat_bits.min(31)),
        360.0 / f64::from(1u32 << lon_bits.min(31)),
    )
}

/// The box around `center` that holds every point within `radius_m`.
pub fn circle_bounds(center: Point, radius_m: f64) -> Bounds {
    let dlat = (radius_m / EARTH_RADIUS_M).to_degrees();
    // The widest longitude span is at the latitude nearest a pole.
    let widest = (center.lat.abs() + dlat).min(89.9).to_radians().cos();
    let dlon = dlat / widest;
    Bounds {
        lat_min: center.lat - dlat,
        lat_max: center.lat + dlat,
        lon_min: center.lon - dlon,
        lon_max: center.lon + dlon,
    }
}

/// Every cell of `precision` that meets the box of the circle around `center`
/// of `radius_m`, sorted: the cells to read for a search of that circle.
pub fn cover(center: Point, radius_m: f64, precision: usize) -> Vec<String> {
    let b = circle_bounds(center, radius_m);
    let (h, w) = cell_size(precision);
    // Sample points one cell apart from the south-west corner, plus the north
    // and east edges: every cell the box meets holds one of them.
    let steps = |from: f64, to: f64, step: f64| -> Vec<f64> {
        let mut values = Vec::new();
        let mut x = from;
        while x < to {
            values.push(x);
            x += step;
        }
        values.push(to);
        values
    };
    let mut cells = BTreeSet::new();
    for lat in steps(b.lat_min, b.lat_max, h) {
        for lon in steps(b.lon_min, b.lon_max, w) {
            cells.insert(Point { lat, lon }.geohash(precision));
        }
    }
    cells.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CITY_HALL: Point = Point {
        lat: 37.5665,
        lon: 126.978,
    };

    #[test]
    fn geohashes_match_the_reference_encoding() {
        // The classic example of the geohash description (Jutland, Denmark).
        let p = Point {
            lat: 57.64911,
            lon: 10.40744,
        };
        assert_eq!(p.geohash(11), "u4pruydqqvj");
        let b = cell_bounds("u4pruydqqvj").unwrap();
        assert!(b.contains(p));
        assert!(cell_bounds("u4pa").is_none(), "`a` is not in the alphabet");
        // Seoul's city hall is in the `wydm` cell.
        assert!(CITY_HALL.geohash(7).starts_with("wydm"));
    }

    #[test]
    fn distances_are_great_circle_metres() {
        let busan = Point {
            lat: 35.1796,
            lon: 129.0756,
        };
        let d = CITY_HALL.distance_m(busan);
        assert!((320_000.0..330_000.0).contains(&d), "{d}");
        let north = Point {
            lat: CITY_HALL.lat + 0.00045,
            lon: CITY_HALL.lon,
        };
        assert!((49.0..51.0).contains(&CITY_HALL.distance_m(north)));
        assert_eq!(CITY_HALL.distance_m(CITY_HALL), 0.0);
    }

    #[test]
    fn points_on_both_sides_of_a_cell_edge_are_found_by_a_search_from_either() {
        // GIVEN two points 10 m apart on either side of a precision-7 cell edge
        let cell = cell_bounds(&CITY_HALL.geohash(7)).unwrap();
        let edge = cell.lon_max;
        let west = Point {
            lat: CITY_HALL.lat,
            lon: edge - 0.00005,
        };
        let east = Point {
            lat: CITY_HALL.lat,
            lon: edge + 0.00005,
        };
        assert_ne!(west.geohash(7), east.geohash(7));
        assert!(west.distance_m(east) < 10.0);
        // THEN a 50 m search from either covers the other's cell
        for (from, to) in [(west, east), (east, west)] {
            let cells = cover(from, 50.0, 7);
            assert!(cells.contains(&to.geohash(7)), "{cells:?}");
            assert!(cells.len() <= 9, "{cells:?}");
        }
        // AND a 2 km search at precision 5 reads a handful of cells
        let wide = cover(CITY_HALL, 2000.0, 5);
        assert!((1..=6).contains(&wide.len()), "{wide:?}");
    }

    #[test]
    fn every_point_of_a_circle_lies_in_one_of_its_cover_cells() {
        for (radius, precision) in [(50.0, 7), (300.0, 6), (2000.0, 5)] {
            let cells = cover(CITY_HALL, radius, precision);
            for i in 0..72 {
                let bearing = f64::from(i) * 5.0_f64.to_radians();
                let d = radius / EARTH_RADIUS_M;
                let lat = CITY_HALL.lat + d.to_degrees() * bearing.cos();
                let lon = CITY_HALL.lon
                    + d.to_degrees() * bearing.sin() / CITY_HALL.lat.to_radians().cos();
                let p = Point { lat, lon };
                assert!(CITY_HALL.distance_m(p) <= radius * 1.01);
                assert!(cells.contains(&p.geohash(precision)), "{radius} {i}");
            }
        }
    }

    #[test]
    fn locations_outside_south_korea_are_refused() {
        assert!(Point::in_korea(37.5665, 126.978).is_ok());
        assert!(Point::in_korea(37.2411, 131.8647).is_ok(), "Dokdo");
        assert!(Point::in_korea(33.1131, 126.2669).is_ok(), "Marado");
        assert!(Point::in_korea(35.6762, 139.6503).is_err(), "Tokyo");
        assert!(Point::in_korea(39.0392, 125.7625).is_err(), "Pyongyang");
        assert!(Point::in_korea(f64::NAN, 127.0).is_err());
        assert!(Point::in_korea(91.0, 127.0).is_err());
    }
}
