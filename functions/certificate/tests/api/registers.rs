//! Register lookups and the address search.

use serde_json::Value;

use crate::common::Harness;

const CHEONGUN: &str = "1111010100100010000";

#[tokio::test]
async fn when_searching_an_address_should_return_parcels_containing_every_word() {
    // GIVEN the seeded registers and a signed-in citizen
    let h = Harness::new().await;
    let me = h.citizen("searcher").await;
    // WHEN searching two words
    let r = h
        .get(
            &me,
            "/v1/registers/lands?q=%EC%A2%85%EB%A1%9C%EA%B5%AC%20%EC%B2%AD%EC%9A%B4",
        )
        .await;
    // THEN every hit has both words, and the 7 parcels of 청운동 are found
    r.expect(200);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 7, "{}", r.body);
    for item in items {
        let address = item["address"].as_str().unwrap();
        assert!(
            address.contains("종로구") && address.contains("청운"),
            "{address}"
        );
        assert_eq!(item["pnu"].as_str().unwrap().len(), 19);
    }
    assert!(r.body.get("nextCursor").is_none());
}

#[tokio::test]
async fn when_search_results_span_pages_should_page_with_a_tamper_evident_cursor() {
    let h = Harness::new().await;
    let me = h.citizen("pager").await;
    let q = "%EC%B2%AD%EC%9A%B4%EB%8F%99"; // 청운동
    let first = h
        .get(&me, &format!("/v1/registers/lands?q={q}&limit=3"))
        .await;
    first.expect(200);
    assert_eq!(first.body["items"].as_array().unwrap().len(), 3);
    let cursor = first.str("nextCursor");
    let mut seen: Vec<Value> = first.body["items"].as_array().unwrap().clone();
    let mut next = Some(cursor.clone());
    while let Some(c) = next {
        let page = h
            .get(
                &me,
                &format!("/v1/registers/lands?q={q}&limit=3&cursor={c}"),
            )
            .await;
        page.expect(200);
        seen.extend(page.body["items"].as_array().unwrap().iter().cloned());
        next = page.body["nextCursor"].as_str().map(str::to_owned);
    }
    let mut pnus: Vec<&str> = seen.iter().map(|i| i["pnu"].as_str().unwrap()).collect();
    let total = pnus.len();
    pnus.dedup();
    assert_eq!(total, 7);
    assert_eq!(pnus.len(), 7, "no parcel twice");
    let exact = h
        .get(&me, &format!("/v1/registers/lands?q={q}&limit=7"))
        .await;
    assert_eq!(exact.body["items"].as_array().unwrap().len(), 7);
    assert!(
        exact.body.get("nextCursor").is_none(),
        "a full last page has no cursor"
    );

    // An altered cursor, or one used with another query, is refused.
    let mut forged = cursor.clone();
    forged.insert(2, 'x');
    h.get(&me, &format!("/v1/registers/lands?q={q}&cursor={forged}"))
        .await
        .expect_problem(400, "request.invalid");
    let r = h
        .get(
            &me,
            &format!("/v1/registers/lands?q=%EC%A2%85%EB%A1%9C%EA%B5%AC&cursor={cursor}"),
        )
        .await;
    r.expect_problem(400, "request.invalid");
    assert_eq!(r.fields(), ["cursor"]);
}

#[tokio::test]
async fn when_the_query_is_too_short_should_answer_400_naming_q() {
    let h = Harness::new().await;
    let me = h.citizen("shortq").await;
    for path in [
        "/v1/registers/lands",
        "/v1/registers/lands?q=",
        "/v1/registers/lands?q=%EC%82%B0",
        "/v1/registers/lands?q=ab&limit=0",
    ] {
        let r = h.get(&me, path).await;
        r.expect_problem(400, "request.invalid");
        assert!(
            r.fields().contains(&"q") || r.fields().contains(&"limit"),
            "{path}: {}",
            r.body
        );
    }
}

#[tokio::test]
async fn when_reading_a_land_record_should_show_the_register_and_never_the_owner() {
    let h = Harness::new().await;
    let me = h.citizen("reader").await;
    let r = h.get(&me, &format!("/v1/registers/lands/{CHEONGUN}")).await;
    r.expect(200);
    assert_eq!(r.str("pnu"), CHEONGUN);
    assert_eq!(r.str("address"), "서울특별시 종로구 청운동 1");
    assert_eq!(r.str("landCategory"), "대");
    assert_eq!(r.body["areaM2"], 325.4);
    assert_eq!(r.body["officialLandPricePerM2Krw"], 6568000);
    let prices = r.body["officialLandPrices"].as_array().unwrap();
    assert_eq!(prices.len(), 5);
    assert_eq!(prices[0]["year"], 2022);
    assert!(prices[0]["pricePerM2Krw"].is_i64());
    let text = r.body.to_string();
    assert!(
        !text.contains("owner") && !text.contains("설하람"),
        "{text}"
    );
}

#[tokio::test]
async fn when_reading_buildings_should_list_them_without_owners() {
    let h = Harness::new().await;
    let me = h.citizen("builder").await;
    let r = h
        .get(&me, &format!("/v1/registers/buildings/{CHEONGUN}"))
        .await;
    r.expect(200);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["name"], "청운빌라 가동");
    assert_eq!(items[0]["floorsAbove"], 4);
    assert_eq!(items[0]["approvalDate"], "1998-04-21");
    assert!(!r.body.to_string().contains("설하람"));
}

#[tokio::test]
async fn when_the_parcel_number_is_bad_or_unknown_should_answer_400_or_404() {
    let h = Harness::new().await;
    let me = h.citizen("badpnu").await;
    for bad in [
        "123",
        "11110101001000100001",
        "1111010100300010000",
        "abcdefghijklmnopqrs",
    ] {
        for kind in ["lands", "buildings"] {
            let r = h.get(&me, &format!("/v1/registers/{kind}/{bad}")).await;
            r.expect_problem(400, "request.invalid");
            assert_eq!(r.fields(), ["pnu"]);
        }
    }
    h.get(&me, "/v1/registers/lands/1111010100199990000")
        .await
        .expect_problem(404, "register.parcel_not_found");
    h.get(&me, "/v1/registers/buildings/1111010100199990000")
        .await
        .expect_problem(404, "register.parcel_not_found");
}

#[tokio::test]
async fn when_not_signed_in_should_answer_401_for_registers() {
    let h = Harness::new().await;
    let r = h
        .call(
            &h.app,
            "GET",
            &format!("/v1/registers/lands/{CHEONGUN}"),
            None,
            &[],
        )
        .await;
    r.expect_problem(401, "auth.invalid_token");
    assert!(r.header("www-authenticate").contains("invalid_token"));
}
