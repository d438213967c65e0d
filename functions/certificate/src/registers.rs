//! Public registers: land records (토지대장) and building records (건축물대장)
//! by parcel number, and the address search.
//!
//! Items in the certificate table:
//! - `PARCEL#<pnu>` / `LAND`: the land record, with the owner in `owner`;
//! - `PARCEL#<pnu>` / `BLDG#<nn>`: each building on the parcel, also with `owner`;
//! - `GRAM#<two characters>` / `<pnu>`: the address index, one item per distinct
//!   pair of adjacent characters within a word of the address.
//!
//! Owner data is kept because a register holds it, but the types this module
//! reads back ([`Land`], [`Building`]) have no owner field: it cannot be returned
//! or printed by mistake.
//!
//! Items are mapped with serde_dynamo: the import file's records are written as
//! they are read ([`ParcelRecord`] without its buildings, [`BuildingRecord`],
//! the owner and the prices as nested maps in a list), and read back as
//! [`Land`] and [`Building`].

use std::collections::BTreeSet;

use aws_sdk_dynamodb::Client;
use serde::{Deserialize, Serialize};
use shared::dynamo::{Item, key, s};
use shared::http::Invalid;

use crate::store::{self, StoreError};

/// A parcel number (PNU): 10-digit legal-dong code, 1 for land or 2 for
/// forest land (산), 4-digit main and 4-digit sub lot number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Pnu(String);

impl Pnu {
    /// Parses 19 digits whose 11th is 1 or 2 and whose main lot number is not 0.
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let b = text.as_bytes();
        if b.len() != 19 || !b.iter().all(u8::is_ascii_digit) {
            return Err(Invalid::new(
                "must be a 19-digit parcel number",
                "19자리 필지 고유번호여야 합니다",
            ));
        }
        if !matches!(b[10], b'1' | b'2') || &text[11..15] == "0000" || &text[0..2] == "00" {
            return Err(Invalid::new(
                "is not a valid parcel number",
                "올바른 필지 고유번호가 아닙니다",
            ));
        }
        Ok(Pnu(text.to_owned()))
    }

    /// The 19 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The shape [`Pnu::parse`] accepts, as far as a pattern can say it.
impl schemars::JsonSchema for Pnu {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Pnu".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9]{10}[12][0-9]{8}$",
            "description": "Parcel number (PNU): 10-digit legal-dong code, 1 for land or 2 for forest land (산), 4-digit main and 4-digit sub lot number."
        })
    }
}

/// An owner as a register holds it (never returned or printed), stored as a
/// map in the land or building item.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OwnerRecord {
    /// Name of the person or company.
    pub name: String,
    /// Share, e.g. `1/2`.
    pub share: String,
    /// Since when.
    pub since: String,
    /// Why (매매, 상속, ...).
    pub reason: String,
}

/// The official land price of one year.
// Stored as one map of the land item's `prices` list (serde_dynamo).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct YearPrice {
    /// The year.
    pub year: i32,
    /// Won per square metre.
    #[serde(alias = "krwPerM2")]
    pub price_per_m2_krw: i64,
}

/// A building as the import file has it, and as its item stores it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BuildingRecord {
    /// The building's name.
    pub name: String,
    /// Main use (주용도).
    pub main_use: String,
    /// Structure (구조).
    pub structure: String,
    /// Floors above ground.
    pub floors_above: i32,
    /// Floors below ground.
    pub floors_below: i32,
    /// Total floor area in m².
    pub total_floor_area_m2: f64,
    /// Use approval date, `YYYY-MM-DD`.
    pub approval_date: String,
    /// The owner.
    pub owner: OwnerRecord,
}

/// A parcel as the import file has it, and (without its buildings) as its land
/// item stores it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ParcelRecord {
    /// The parcel number.
    pub pnu: String,
    /// The lot address.
    pub address: String,
    /// The head of the local government that keeps the register.
    pub authority: String,
    /// Land category (지목).
    pub land_category: String,
    /// Area in m².
    pub area_m2: f64,
    /// Official land prices by year.
    pub prices: Vec<YearPrice>,
    /// The land owner.
    pub owner: OwnerRecord,
    /// Buildings on the parcel (items of their own).
    #[serde(skip_serializing)]
    pub buildings: Vec<BuildingRecord>,
}

/// The register import file (`infra/devstack/data/registers.json`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RegisterFile {
    /// Every parcel.
    pub parcels: Vec<ParcelRecord>,
}

/// A land record as clients and certificates see it.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "LandRecord")]
pub struct Land {
    /// Parcel number.
    pub pnu: Pnu,
    /// Lot address.
    pub address: String,
    /// Land category (지목).
    pub land_category: String,
    /// Area in m².
    pub area_m2: f64,
    /// Official land prices (개별공시지가) by year, oldest first.
    pub official_land_prices: Vec<YearPrice>,
    /// The latest official land price per m².
    pub official_land_price_per_m2_krw: Option<i64>,
    /// The authority that keeps the register (printed on certificates).
    #[serde(skip)]
    pub authority: String,
}

/// A building record as clients and certificates see it.
// Also read straight from its DynamoDB item (serde_dynamo).
// Fields in the alphabetical order of their JSON names: the answer that lists
// them was built as a `serde_json::Value`, whose objects sort their keys, and
// clients keep receiving the same bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "BuildingRecord")]
pub struct Building {
    /// Use approval date (`YYYY-MM-DD`).
    pub approval_date: String,
    /// Floors above ground.
    pub floors_above: i32,
    /// Floors below ground.
    pub floors_below: i32,
    /// Main use (주용도).
    pub main_use: String,
    /// Name.
    pub name: String,
    /// Structure (구조).
    pub structure: String,
    /// Total floor area in m².
    pub total_floor_area_m2: f64,
}

/// One search hit.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "ParcelHit")]
pub struct Hit {
    /// Parcel number.
    #[schemars(with = "Pnu")]
    pub pnu: String,
    /// Lot address.
    pub address: String,
}

/// The words of a search: at least one of two or more characters, at most 10
/// words and 100 characters.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    words: Vec<String>,
}

impl Query {
    /// Parses the `q` parameter.
    pub fn parse(q: Option<&str>) -> Result<Self, Invalid> {
        let q = q.unwrap_or("").trim();
        if q.chars().count() > 100 {
            return Err(Invalid::new(
                "must be at most 100 characters",
                "100자 이하여야 합니다",
            ));
        }
        let words: Vec<String> = q.split_whitespace().map(str::to_owned).collect();
        if words.len() > 10 {
            return Err(Invalid::new(
                "must have at most 10 words",
                "단어는 10개 이하여야 합니다",
            ));
        }
        if !words.iter().any(|w| w.chars().count() >= 2) {
            return Err(Invalid::new(
                "needs a word of at least 2 characters",
                "2자 이상인 단어가 필요합니다",
            ));
        }
        Ok(Query { words })
    }

    /// The index key to read: the first pair of the longest word (longer words
    /// are the more selective ones; [`Query::parse`] guarantees one).
    fn gram(&self) -> String {
        self.words
            .iter()
            .max_by_key(|w| w.chars().count())
            .map(|w| w.chars().take(2).collect())
            .unwrap_or_default()
    }

    /// Whether `address` contains every word.
    pub fn matches(&self, address: &str) -> bool {
        self.words.iter().all(|w| address.contains(w.as_str()))
    }

    /// The words joined by one space (what the query means, for cursors).
    pub fn normalized(&self) -> String {
        self.words.join(" ")
    }
}

/// Every distinct pair of adjacent characters within the words of `address`.
pub fn grams(address: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for word in address.split_whitespace() {
        let chars: Vec<char> = word.chars().collect();
        for pair in chars.windows(2) {
            out.insert(pair.iter().collect());
        }
    }
    out
}

/// Writes every parcel, building and index item of `file` (idempotent: a
/// second import overwrites the same items).
pub async fn import(db: &Client, table: &str, file: &RegisterFile) -> Result<usize, ImportError> {
    let mut items = Vec::new();
    for p in &file.parcels {
        items.extend(parcel_items(p)?);
    }
    shared::dynamo::put_all(db, table, &items)
        .await
        .map_err(StoreError::from)?;
    Ok(items.len())
}

/// The items of one parcel: its land item, one per building, and its
/// address-index items.
fn parcel_items(p: &ParcelRecord) -> Result<Vec<Item>, ImportError> {
    let pnu = Pnu::parse(&p.pnu).map_err(|e| ImportError::Invalid {
        pnu: p.pnu.clone(),
        problem: e.en().to_owned(),
    })?;
    let pk = format!("PARCEL#{}", pnu.as_str());
    let mut items = vec![store::to_item(&pk, "LAND", p, None)?];
    for (i, b) in p.buildings.iter().enumerate() {
        items.push(store::to_item(&pk, format!("BLDG#{:02}", i + 1), b, None)?);
    }
    let indexed = Gram {
        address: &p.address,
    };
    for gram in grams(&p.address) {
        let pk = format!("GRAM#{gram}");
        items.push(store::to_item(pk, pnu.as_str(), &indexed, None)?);
    }
    Ok(items)
}

/// An address-index item (`GRAM#<pair>` / `<pnu>`): the address, to match
/// every word of a query against.
#[derive(Debug, Serialize)]
struct Gram<'a> {
    /// The lot address.
    address: &'a str,
}

/// An address-index item as read: the parcel number is its sort key.
#[derive(Debug, Deserialize)]
struct GramHit {
    /// The parcel number.
    sk: String,
    /// The lot address.
    address: String,
}

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A record is invalid.
    #[error("parcel `{pnu}`: {problem}")]
    Invalid {
        /// The parcel number as written.
        pnu: String,
        /// What is wrong.
        problem: String,
    },
    /// The table refused the writes.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a land item holds that may be shown (the owner is not even read).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LandItem {
    address: String,
    authority: String,
    land_category: String,
    area_m2: f64,
    #[serde(default)]
    prices: Vec<YearPrice>,
}

/// The land record of `pnu`, if the register has it.
pub async fn land(db: &Client, table: &str, pnu: &Pnu) -> Result<Option<Land>, StoreError> {
    let out = db
        .get_item()
        .table_name(table)
        .set_key(Some(key(format!("PARCEL#{}", pnu.as_str()), "LAND")))
        // Only what may be shown: the owner is never read.
        .projection_expression("address, authority, landCategory, areaM2, prices")
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    let Some(item) = out.item else {
        return Ok(None);
    };
    let LandItem {
        address,
        authority,
        land_category,
        area_m2,
        mut prices,
    } = store::from_item(item)?;
    prices.sort_by_key(|p| p.year);
    Ok(Some(Land {
        pnu: pnu.clone(),
        address,
        land_category,
        area_m2,
        official_land_price_per_m2_krw: prices.last().map(|p| p.price_per_m2_krw),
        official_land_prices: prices,
        authority,
    }))
}

/// The buildings on `pnu`, in register order.
pub async fn buildings(db: &Client, table: &str, pnu: &Pnu) -> Result<Vec<Building>, StoreError> {
    let out = db
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk AND begins_with(sk, :b)")
        .expression_attribute_values(":pk", s(format!("PARCEL#{}", pnu.as_str())))
        .expression_attribute_values(":b", s("BLDG#"))
        .projection_expression(
            "#name, mainUse, #structure, floorsAbove, floorsBelow, totalFloorAreaM2, approvalDate",
        )
        .expression_attribute_names("#name", "name")
        .expression_attribute_names("#structure", "structure")
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    store::from_items(out.items.unwrap_or_default())
}

/// One page of parcels whose address contains every word of `query`, ordered
/// by parcel number, resuming after the parcel number `after`. Returns the hits
/// and, when more follow, the parcel number to resume after.
pub async fn search(
    db: &Client,
    table: &str,
    query: &Query,
    limit: usize,
    after: Option<String>,
) -> Result<(Vec<Hit>, Option<String>), StoreError> {
    let pk = format!("GRAM#{}", query.gram());
    let mut hits = Vec::new();
    let mut start = after;
    loop {
        let out = db
            .query()
            .table_name(table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(&pk))
            .set_exclusive_start_key(start.as_ref().map(|sk| key(&pk, sk)))
            .limit(100)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let more = out.last_evaluated_key.is_some();
        let page: Vec<GramHit> = store::from_items(out.items.unwrap_or_default())?;
        for GramHit { sk: pnu, address } in page {
            start = Some(pnu.clone());
            if query.matches(&address) {
                hits.push(Hit { pnu, address });
                // One hit beyond the page tells whether another page exists.
                if hits.len() > limit {
                    hits.truncate(limit);
                    let resume = hits.last().map(|h| h.pnu.clone());
                    return Ok((hits, resume));
                }
            }
        }
        if !more {
            return Ok((hits, None));
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::types::AttributeValue;
    use shared::dynamo::n;

    use super::*;

    #[test]
    fn parcel_numbers_are_19_digits_with_a_land_kind() {
        assert!(Pnu::parse("1111010100100010000").is_ok());
        assert!(Pnu::parse("5176038024200120000").is_ok());
        for bad in [
            "",
            "111101010010001000",
            "11110101001000100000",
            "1111010100300010000",
            "1111010100100000000",
            "111101010010001000a",
            "0011010100100010000",
            "１１１1010100100010000",
        ] {
            assert!(Pnu::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn grams_are_pairs_within_words() {
        let g = grams("서울특별시 종로구 청운동 1");
        assert!(g.contains("종로") && g.contains("로구") && g.contains("청운"));
        assert!(!g.contains("시종"), "no pair across words");
        assert!(!g.iter().any(|x| x.contains(' ')));
    }

    #[test]
    fn a_query_needs_a_word_of_two_characters_and_matches_every_word() {
        assert!(Query::parse(None).is_err());
        assert!(Query::parse(Some("  ")).is_err());
        assert!(Query::parse(Some("산")).is_err());
        assert!(Query::parse(Some(&"가".repeat(101))).is_err());
        let q = Query::parse(Some("종로구  청운")).unwrap();
        assert_eq!(q.normalized(), "종로구 청운");
        assert!(q.matches("서울특별시 종로구 청운동 1"));
        assert!(!q.matches("서울특별시 종로구 효자동 1"));
        assert_eq!(q.gram(), "종로");
        let q = Query::parse(Some("횡계리 산")).unwrap();
        assert!(q.matches("강원특별자치도 평창군 대관령면 횡계리 산 12"));
    }

    #[test]
    fn a_parcel_is_stored_as_before() {
        let owner = serde_json::json!({
            "name": "홍길동", "share": "1/1", "since": "2001-02-03", "reason": "매매"
        });
        let p: ParcelRecord = serde_json::from_value(serde_json::json!({
            "pnu": "1111010100100010000", "address": "서울특별시 종로구 청운동 1",
            "authority": "서울특별시 종로구청장", "landCategory": "대", "areaM2": 330.5,
            "prices": [{"year": 2025, "pricePerM2Krw": 5000000}], "owner": owner.clone(),
            "buildings": [{"name": "청운빌딩", "mainUse": "업무시설", "structure": "철근콘크리트구조",
                "floorsAbove": 5, "floorsBelow": 1, "totalFloorAreaM2": 1200.0,
                "approvalDate": "2001-02-03", "owner": owner}]
        }))
        .unwrap();
        let items = parcel_items(&p).unwrap();
        let fields = |pairs: Vec<(&str, AttributeValue)>| -> Item {
            pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
        };
        let owner = AttributeValue::M(fields(vec![
            ("name", s("홍길동")),
            ("share", s("1/1")),
            ("since", s("2001-02-03")),
            ("reason", s("매매")),
        ]));
        let price = fields(vec![("year", n(2025)), ("pricePerM2Krw", n(5_000_000))]);
        let land = fields(vec![
            ("pk", s("PARCEL#1111010100100010000")),
            ("sk", s("LAND")),
            ("pnu", s("1111010100100010000")),
            ("address", s("서울특별시 종로구 청운동 1")),
            ("authority", s("서울특별시 종로구청장")),
            ("landCategory", s("대")),
            ("areaM2", n(330.5)),
            ("prices", AttributeValue::L(vec![AttributeValue::M(price)])),
            ("owner", owner.clone()),
        ]);
        assert_eq!(items[0], land);
        let building = fields(vec![
            ("pk", s("PARCEL#1111010100100010000")),
            ("sk", s("BLDG#01")),
            ("name", s("청운빌딩")),
            ("mainUse", s("업무시설")),
            ("structure", s("철근콘크리트구조")),
            ("floorsAbove", n(5)),
            ("floorsBelow", n(1)),
            ("totalFloorAreaM2", n(1200.0)),
            ("approvalDate", s("2001-02-03")),
            ("owner", owner),
        ]);
        assert_eq!(items[1], building);
        let index = &items[2..];
        assert_eq!(index.len(), grams("서울특별시 종로구 청운동 1").len());
        assert!(index.iter().all(|i| i.len() == 3
            && i["sk"] == s("1111010100100010000")
            && i["address"] == s("서울특별시 종로구 청운동 1")));
        let read: Vec<Building> = store::from_items(vec![building]).unwrap();
        assert_eq!(
            (read[0].name.as_str(), read[0].floors_above),
            ("청운빌딩", 5)
        );
    }

    #[test]
    fn the_seed_file_is_valid() {
        let file: RegisterFile =
            serde_json::from_str(include_str!("../../../infra/devstack/data/registers.json"))
                .unwrap();
        assert!(file.parcels.len() >= 30);
        for p in &file.parcels {
            assert!(Pnu::parse(&p.pnu).is_ok(), "{}", p.pnu);
        }
    }
}
