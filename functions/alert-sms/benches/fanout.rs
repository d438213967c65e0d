//! Benchmarks of an alert's fan-out (issue 8) through the compiled `alert-sms`
//! binary (release profile, 128 MB) under devstack's minimal Runtime API, on the
//! emulator.
//!
//! ```sh
//! cargo bench -p alert-sms --bench fanout                 # scaled-down defaults
//! BENCH_PLAN_SUBSCRIBERS=100000 BENCH_TEXT_SUBSCRIBERS=10000 \
//!     cargo bench -p alert-sms --bench fanout             # the issue's sizes: hours
//! BENCH_PLAN_SUBSCRIBERS=0 BENCH_INVOKERS=8 cargo bench -p alert-sms --bench fanout
//! ```
//!
//! 1. **Planner.** `BENCH_PLAN_SUBSCRIBERS` citizens' subscriptions are written
//!    straight into the function's table, as `subscriptions.rs` writes them (a
//!    head `SUB#<userId>`/`SUB` and one `REGION#<code>` entry per region), with
//!    `BatchWriteItem`, over Seoul (11) and Busan (26), a fifth in both, and one
//!    in twenty opted out of `disaster`. A `disaster` alert for 11 and 26 is
//!    written and approved, its `alert.issued` carried to the delivery queue by
//!    the table's pipe, and then only the planning runs: the event and every
//!    `alert.plan` step go to one function process, while the `alert.batch`
//!    steps are read off the queue, counted and deleted, never run. The batches'
//!    recipients must be exactly the matching citizens, each once, and the
//!    alert's `delivery.recipients` their number.
//! 2. **End to end.** `BENCH_TEXT_SUBSCRIBERS` citizens, all matching, with a
//!    login profile carrying a mobile number (items written directly: argon2
//!    provisioning would take ~50 ms each), get an alert; `BENCH_INVOKERS`
//!    function processes (Lambda's concurrency) poll the delivery queue as the
//!    event source mapping does (batches of 10) until the alert shows
//!    `sent == recipients`. The emulator's SMS log must hold one text per
//!    number.
//! 3. **Extrapolation** to 100,000 texts on Lambda: bound by SNS's SMS rate, or
//!    by the function (the CPU time the processes used per text, measured here,
//!    at the template's `MaximumConcurrency`).
//!
//! The emulator (moto) is the bottleneck and not a model of DynamoDB: every
//! request is served one at a time, a transaction deep-copies the whole table
//! (subscriptions and stream records included) and an index query sorts the
//! whole table. A plan step (one index query and one transaction) and a batch
//! (its tally transaction) therefore cost time proportional to the table, and
//! the whole run grows with the square of the subscribers: ~20 s a plan step
//! at 20,000 subscribers, some three hours of planning at 100,000. moto's memory
//! also grows by about one copy of the table per transaction (10 GiB at the
//! defaults), far past the machine's 24 GiB at 100,000. The defaults (12,000
//! and 2,500) are scaled down to run in under ten minutes on two cores;
//! the planner's memory does not depend on the number of subscribers (one page
//! of [`PLAN_PAGE`] index entries per region at a time), which the VmHWM at
//! different sizes shows.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use alert_sms::alerts::{Alert, Category, Draft, Region};
use alert_sms::delivery::{BATCH_RECIPIENTS, PLAN_PAGE, SEND_CONCURRENCY, Step};
use alert_sms::store::Alerts;
use alert_sms::subscriptions::{RegionEntry, Subscription};
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use devstack::TestStack;
use devstack::runtime_api::{RuntimeApi, env_number, summary, thousands, vm_hwm_kib};
use devstack::sqs_source::{SqsSource, sqs_event};
use futures::StreamExt;
use serde::Serialize;
use serde_json::Value;
use shared::config::Env;

type Item = HashMap<String, AttributeValue>;

/// Items per `BatchWriteItem`.
const WRITE_BATCH: usize = 25;
/// `BatchWriteItem` calls in flight while seeding.
const WRITE_CONCURRENCY: usize = 8;
/// Lambda's memory setting for the function (template: `MemorySize: 128`).
const MEMORY_MB: u32 = 128;
/// A Lambda function gets one vCPU at 1,769 MB, proportionally less below.
const VCPU_MB: f64 = 1769.0;
/// The alert's regions, in its order.
const ALERT_REGIONS: [&str; 2] = ["11", "26"];
/// Assumed SNS SMS quotas (texts per second): the default of many regions, and
/// a raised one.
const SMS_QUOTAS: [f64; 2] = [20.0, 1000.0];
/// Assumed latency of one text in AWS: the claim's PutItem, SNS Publish and the
/// claim's UpdateItem, one after the other (ms).
const AWS_TEXT_LATENCY_MS: f64 = 50.0;
/// Assumed I/O time of one plan step in AWS: the index query (1,000 entries),
/// the counting transaction and three `SendMessageBatch` calls (ms).
const AWS_PLAN_IO_MS: f64 = 120.0;
/// The size the extrapolation is for.
const TARGET: f64 = 100_000.0;

fn duration(secs: f64) -> String {
    if secs >= 3600.0 {
        format!(
            "{:.0} h {:02.0} min",
            (secs / 3600.0).floor(),
            (secs % 3600.0) / 60.0
        )
    } else if secs >= 120.0 {
        format!("{:.1} min", secs / 60.0)
    } else {
        format!("{secs:.1} s")
    }
}

/// CPU time (user + system, every thread) process `pid` has used, in seconds.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    // After the command: state is field 3, utime 14 and stime 15 (clock ticks,
    // 100 per second on Linux).
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (ticks(11) + ticks(12)) as f64 / 100.0
}

/// The emulator this process started (devstack's launcher, a child of this
/// process; none when `DEVSTACK_ENDPOINT` names another).
fn emulator_pid() -> Option<u32> {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .ok()?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .find(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let parent = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1).map(str::to_owned));
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            parent.as_deref() == Some(me.as_str())
                && String::from_utf8_lossy(&cmdline).contains("moto_launcher")
        })
}

/// A subscription head (`SUB#<userId>` / `SUB`), as `subscriptions.rs` writes it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Head<'a> {
    pk: String,
    sk: &'static str,
    user_id: &'a str,
    regions: &'a [Region],
    categories: &'a [Category],
    version: u64,
    updated_at: i64,
}

/// A seeded citizen.
struct Citizen {
    user_id: String,
    sub: Subscription,
}

impl Citizen {
    /// Whether an alert of `category` for `regions` texts this citizen.
    fn matches(&self, category: Category, regions: &[Region]) -> bool {
        self.sub.categories.contains(&category)
            && self.sub.regions.iter().any(|r| regions.contains(r))
    }

    /// The subscription's items.
    fn items(&self, now: i64) -> Vec<Item> {
        let pk = format!("SUB#{}", self.user_id);
        let mut items = vec![
            alert_sms::db::to_item(&Head {
                pk: pk.clone(),
                sk: "SUB",
                user_id: &self.user_id,
                regions: &self.sub.regions,
                categories: &self.sub.categories,
                version: 1,
                updated_at: now,
            })
            .expect("a head item"),
        ];
        for region in &self.sub.regions {
            let entry = RegionEntry {
                pk: pk.clone(),
                sk: format!("REGION#{}", region.code()),
                sub_region: *region,
                user_id: self.user_id.clone(),
                regions: self.sub.regions.clone(),
                categories: self.sub.categories.clone(),
            };
            items.push(alert_sms::db::to_item(&entry).expect("a region entry"));
        }
        items
    }
}

/// `n` citizens (random user ids, as login gives them): half in Seoul only,
/// 30 % in Busan only, a fifth in both (in either order). With `opt_outs`, one
/// in twenty chose `emergency` and `safety` only, and one in twenty
/// `emergency` and `disaster`.
fn citizens(n: usize, opt_outs: bool) -> Vec<Citizen> {
    let seoul = Region::parse("11").unwrap();
    let busan = Region::parse("26").unwrap();
    (0..n)
        .map(|i| {
            let regions = match i % 10 {
                0..=4 => vec![seoul],
                5..=7 => vec![busan],
                8 => vec![seoul, busan],
                _ => vec![busan, seoul],
            };
            let categories = match i % 20 {
                7 if opt_outs => Some(&[Category::Safety][..]),
                13 if opt_outs => Some(&[Category::Disaster][..]),
                _ => None,
            };
            Citizen {
                user_id: shared::random::uuid(),
                sub: Subscription::new(regions, categories),
            }
        })
        .collect()
}

/// Writes `items` to `table`, 25 per `BatchWriteItem`, several calls at once
/// (unprocessed items are sent again).
async fn batch_write(db: &aws_sdk_dynamodb::Client, table: &str, items: Vec<Item>) {
    let chunks: Vec<Vec<Item>> = items.chunks(WRITE_BATCH).map(<[Item]>::to_vec).collect();
    futures::stream::iter(chunks)
        .for_each_concurrent(WRITE_CONCURRENCY, |chunk| async move {
            let mut requests: Vec<WriteRequest> = chunk
                .into_iter()
                .map(|item| {
                    WriteRequest::builder()
                        .put_request(
                            PutRequest::builder()
                                .set_item(Some(item))
                                .build()
                                .expect("a put request"),
                        )
                        .build()
                })
                .collect();
            while !requests.is_empty() {
                let out = db
                    .batch_write_item()
                    .request_items(table, requests)
                    .send()
                    .await
                    .unwrap_or_else(|e| {
                        panic!(
                            "BatchWriteItem: {}",
                            aws_sdk_dynamodb::error::DisplayErrorContext(e)
                        )
                    });
                requests = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(table))
                    .unwrap_or_default();
            }
        })
        .await;
}

/// A fresh stack and what the benchmark reads and writes in it.
struct Bench {
    stack: TestStack,
    sdk: shared::aws::SdkConfig,
    vars: BTreeMap<String, String>,
    alerts: Alerts,
    app: alert_sms::App,
    delivery: SqsSource,
    sqs: aws_sdk_sqs::Client,
}

impl Bench {
    async fn new() -> Self {
        let stack = TestStack::new().await;
        let env = stack.env("alert-sms");
        let sdk = shared::aws::sdk_config(&env).await;
        let Env::Map(vars) = env.clone() else {
            unreachable!("test stacks give maps")
        };
        let table = env.require("ALERT_SMS_TABLE").unwrap();
        let alerts = Alerts::new(aws_sdk_dynamodb::Client::new(&sdk), table);
        let app = alert_sms::App::from_env(&env, &sdk).expect("alert-sms starts");
        let delivery = stack.sqs_source("alert-sms", "AlertDelivery");
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        Self {
            stack,
            sdk,
            vars,
            alerts,
            app,
            delivery,
            sqs,
        }
    }

    fn db(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk)
    }

    async fn seed_subscriptions(&self, citizens: &[Citizen]) -> usize {
        let now = shared::time::now_secs();
        let items: Vec<Item> = citizens.iter().flat_map(|c| c.items(now)).collect();
        let count = items.len();
        batch_write(&self.db(), self.alerts.table(), items).await;
        count
    }

    /// Writes and approves a `disaster` alert for Seoul and Busan (two
    /// officials, through the store as the routes do), and carries its
    /// `alert.issued` to the delivery queue.
    async fn issue(&self) -> Alert {
        let regions: Vec<String> = ALERT_REGIONS.iter().map(|r| (*r).to_owned()).collect();
        let draft = Draft::parse(
            "disaster",
            &regions,
            "호우 경보",
            "[서울·부산] 오늘 밤 시간당 80mm 이상의 폭우가 예상됩니다. 지하 공간과 하천변을 피하고 안전한 곳에 머무르세요.",
            None,
        )
        .expect("a valid draft");
        let now = shared::time::now_secs();
        let alert = Alert::new(shared::random::uuid(), &draft, "bench-writer", now);
        self.alerts.create(&alert).await.expect("alert created");
        let issued = self
            .alerts
            .approve(&alert, "bench-approver", now)
            .await
            .expect("alert approved");
        let carried = self.stack.carry_events().await;
        assert!(carried >= 1, "the pipe carried alert.issued");
        issued
    }

    /// The alert as GET /v1/alerts/{alertId} answers it.
    async fn public(&self, alert_id: &str) -> Value {
        let r = devstack::reply::Reply::from(
            self.app
                .handle_http(devstack::reply::request(
                    "GET",
                    &format!("/v1/alerts/{alert_id}"),
                    None,
                    &[],
                ))
                .await,
        );
        r.expect(200);
        r.body
    }

    async fn delete(&self, messages: &[&Message]) {
        for chunk in messages.chunks(10) {
            let entries: Vec<DeleteMessageBatchRequestEntry> = chunk
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(m.receipt_handle().unwrap_or_default())
                        .build()
                        .expect("an entry")
                })
                .collect();
            let out = self
                .sqs
                .delete_message_batch()
                .queue_url(&self.delivery.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .expect("DeleteMessageBatch");
            assert!(
                out.failed.is_empty(),
                "messages not deleted: {:?}",
                out.failed
            );
        }
    }

    /// Messages in the delivery queue: (visible, in flight).
    async fn queue_depth(&self) -> (u64, u64) {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let out = self
            .sqs
            .get_queue_attributes()
            .queue_url(&self.delivery.queue_url)
            .attribute_names(A::ApproximateNumberOfMessages)
            .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .expect("GetQueueAttributes");
        let get = |a: A| {
            out.attributes()
                .and_then(|m| m.get(&a))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (
            get(A::ApproximateNumberOfMessages),
            get(A::ApproximateNumberOfMessagesNotVisible),
        )
    }

    /// A number of the template: `pointer` into `property` of `resource`
    /// (YAML numbers may come as strings).
    fn template_number(&self, resource: &str, property: &str, pointer: &str) -> Option<u64> {
        let value = self
            .stack
            .stack()
            .template()
            .resource(resource)?
            .property(property)?
            .pointer(pointer)?;
        value
            .as_u64()
            .or_else(|| value.as_str().and_then(|v| v.parse().ok()))
    }

    /// The template's `MaximumConcurrency` of the delivery queue's events.
    fn maximum_concurrency(&self) -> Option<u64> {
        self.stack
            .stack()
            .template()
            .function("alert-sms")
            .ok()?
            .property("Events")?
            .get(&self.delivery.event)?
            .pointer("/Properties/ScalingConfig/MaximumConcurrency")?
            .as_u64()
    }
}

/// What the planner run measured.
struct Planned {
    subscribers: usize,
    /// Index entries of the region with the most.
    largest_region: usize,
    items: usize,
    index_entries: usize,
    seed_secs: f64,
    recipients: u64,
    plan_steps: usize,
    invocations: usize,
    batches: usize,
    wall_secs: f64,
    cpu_secs: f64,
    hwm_kib: u64,
}

/// Part 1: the planner alone, for `n` subscribers.
async fn planner(n: usize) -> Planned {
    let bench = Bench::new().await;
    let alert = bench.issue().await;
    let category = alert.category;
    let people = citizens(n, true);
    let index_entries = people.iter().map(|c| c.sub.regions.len()).sum();
    let mut per_region: HashMap<Region, usize> = HashMap::new();
    for region in people.iter().flat_map(|c| &c.sub.regions) {
        *per_region.entry(*region).or_default() += 1;
    }
    let largest_region = per_region.values().copied().max().unwrap_or(0);
    let expected: HashSet<&str> = people
        .iter()
        .filter(|c| c.matches(category, &alert.regions))
        .map(|c| c.user_id.as_str())
        .collect();
    println!(
        "planner: seeding {} subscribers ({} matching the alert) ...",
        thousands(n as u64),
        thousands(expected.len() as u64)
    );
    let seeding = Instant::now();
    let items = bench.seed_subscriptions(&people).await;
    let seed_secs = seeding.elapsed().as_secs_f64();
    println!(
        "planner: {} items in {} ({:.0} items/s); planning ...",
        thousands(items as u64),
        duration(seed_secs),
        items as f64 / seed_secs
    );

    let api = RuntimeApi::start().await;
    let mut function = api.spawn(env!("CARGO_BIN_EXE_alert-sms"), &bench.vars, MEMORY_MB);
    let pid = function.child.id().expect("the function runs");
    api.first_next().await;
    let cpu_before = cpu_secs(pid);

    let mut planned: HashSet<String> = HashSet::new();
    let mut recipients_in_batches = 0usize;
    let (mut batches, mut plan_steps, mut invocations) = (0usize, 0usize, 0usize);
    let mut step_ms = Vec::new();
    let mut idle = 0;
    let started = Instant::now();
    let mut last_answer = started;
    while idle < 2 {
        let received = bench
            .sqs
            .receive_message()
            .queue_url(&bench.delivery.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .expect("ReceiveMessage");
        let messages = received.messages();
        if messages.is_empty() {
            idle += 1;
            continue;
        }
        idle = 0;
        let mut collected = Vec::new();
        let mut steps = Vec::new();
        for message in messages {
            match serde_json::from_str::<Step>(message.body().unwrap_or_default()) {
                Ok(Step::Batch { recipients, .. }) => {
                    assert!(recipients.len() <= BATCH_RECIPIENTS);
                    batches += 1;
                    recipients_in_batches += recipients.len();
                    for r in recipients {
                        assert!(planned.insert(r), "a citizen planned twice");
                    }
                    collected.push(message);
                }
                Ok(Step::Plan { .. }) => {
                    plan_steps += 1;
                    steps.push(message.clone());
                }
                Err(_) => steps.push(message.clone()),
            }
        }
        bench.delete(&collected).await;
        if steps.is_empty() {
            continue;
        }
        let event = sqs_event(&steps, &bench.delivery.queue_arn).to_string();
        let sent = Instant::now();
        let answer = tokio::time::timeout(Duration::from_secs(900), api.invoke(event))
            .await
            .expect("a plan step answers within 15 minutes");
        step_ms.push(sent.elapsed().as_secs_f64() * 1000.0);
        last_answer = Instant::now();
        invocations += 1;
        let failures = answer["batchItemFailures"].as_array().map_or(0, Vec::len);
        assert_eq!(failures, 0, "a plan step failed: {answer}");
        bench.delete(&steps.iter().collect::<Vec<_>>()).await;
        if invocations.is_multiple_of(10) {
            println!(
                "planner: {invocations} invocations, {plan_steps} plan steps, {} planned, {:.0} s",
                thousands(planned.len() as u64),
                started.elapsed().as_secs_f64()
            );
        }
    }
    let wall_secs = (last_answer - started).as_secs_f64();
    let hwm_kib = vm_hwm_kib(pid);
    let cpu = cpu_secs(pid) - cpu_before;
    function.child.kill().await.ok();

    let public = bench.public(&alert.alert_id).await;
    let recipients = public["delivery"]["recipients"].as_u64().unwrap_or(0);
    assert_eq!(
        recipients_in_batches,
        expected.len(),
        "the batches' recipients are the matching citizens"
    );
    assert!(
        planned.iter().all(|id| expected.contains(id.as_str())),
        "only matching citizens are planned"
    );
    assert_eq!(
        recipients,
        expected.len() as u64,
        "delivery.recipients of the alert: {public}"
    );
    assert_eq!(public["delivery"]["sent"], 0, "no batch ran");
    summary("plan invocation (up to 10 steps)", step_ms);
    Planned {
        subscribers: n,
        largest_region,
        items,
        index_entries,
        seed_secs,
        recipients,
        plan_steps,
        invocations,
        batches,
        wall_secs,
        cpu_secs: cpu,
        hwm_kib,
    }
}

/// What the end-to-end run measured.
struct Texted {
    subscribers: usize,
    invokers: usize,
    elapsed_secs: f64,
    carry_secs: f64,
    invocations: usize,
    messages: usize,
    redelivered: usize,
    texts: usize,
    cpu_secs: f64,
    hwm_kib: u64,
    left: (u64, u64),
    maximum_concurrency: Option<u64>,
    /// The delivery queue's `VisibilityTimeout` and `maxReceiveCount`.
    retry_budget: Option<(u64, u64)>,
}

/// Feeds the delivery queue to the process behind `api`, as Lambda's event
/// source mapping does, until `done`: (invocations, messages, redelivered).
async fn poll_until(
    bench: &Bench,
    done: &std::sync::atomic::AtomicBool,
    api: &RuntimeApi,
) -> (usize, usize, usize) {
    let (mut invocations, mut messages, mut redelivered) = (0usize, 0usize, 0usize);
    while !done.load(std::sync::atomic::Ordering::SeqCst) {
        let mut again = 0usize;
        let delivered = bench
            .delivery
            .poll_once(1, |event: Value| {
                again = event["Records"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|r| r["attributes"]["ApproximateReceiveCount"] != "1")
                    .count();
                async move {
                    tokio::time::timeout(Duration::from_secs(900), api.invoke(event.to_string()))
                        .await
                        .map_err(|_| "no answer in 15 minutes".to_owned())
                }
            })
            .await
            .expect("the delivery queue is read");
        if delivered.received > 0 {
            invocations += 1;
            messages += delivered.received;
            redelivered += again;
        }
        if let Some(failure) = delivered.failure {
            eprintln!("end to end: an invocation failed: {failure}");
        }
    }
    (invocations, messages, redelivered)
}

/// Part 2: `n` subscribers with numbers texted through `invokers` processes.
async fn end_to_end(n: usize, invokers: usize) -> Texted {
    let bench = Bench::new().await;
    let people = citizens(n, false);
    // `+8210` and eight digits, two of them random: numbers of this run only.
    let tag = shared::random::bytes::<1>()[0] % 90 + 10;
    let phone = |i: usize| format!("+8210{tag}{i:06}");
    let now = shared::time::now_secs();
    let profiles: Vec<Item> = people
        .iter()
        .enumerate()
        .map(|(i, c)| {
            // What alert-sms reads of a profile (pk, phone) and the keys of
            // login's profile item; argon2 provisioning would take ~50 ms each.
            HashMap::from([
                (
                    "pk".to_owned(),
                    AttributeValue::S(format!("USER#{}", c.user_id)),
                ),
                ("sk".to_owned(), AttributeValue::S("PROFILE".into())),
                ("userId".to_owned(), AttributeValue::S(c.user_id.clone())),
                ("loginId".to_owned(), AttributeValue::S(format!("bench{i}"))),
                ("name".to_owned(), AttributeValue::S("홍길동".into())),
                ("phone".to_owned(), AttributeValue::S(phone(i))),
                ("role".to_owned(), AttributeValue::S("citizen".into())),
                ("createdAt".to_owned(), AttributeValue::N(now.to_string())),
            ])
        })
        .collect();
    println!(
        "end to end: seeding {} subscribers and profiles ...",
        thousands(n as u64)
    );
    let seeding = Instant::now();
    let login_table = bench.stack.env("login").require("LOGIN_TABLE").unwrap();
    batch_write(&bench.db(), &login_table, profiles).await;
    let items = bench.seed_subscriptions(&people).await;
    println!(
        "end to end: {} items in {}; issuing and texting ...",
        thousands((items + n) as u64),
        duration(seeding.elapsed().as_secs_f64())
    );

    let carrying = Instant::now();
    let alert = bench.issue().await;
    let carry_secs = carrying.elapsed().as_secs_f64();

    let binary = env!("CARGO_BIN_EXE_alert-sms");
    let mut apis = Vec::new();
    for _ in 0..invokers {
        apis.push(RuntimeApi::start().await);
    }
    let mut functions = Vec::new();
    for api in &apis {
        functions.push(api.spawn(binary, &bench.vars, MEMORY_MB));
        api.first_next().await;
    }
    let pids: Vec<u32> = functions
        .iter()
        .map(|f| f.child.id().expect("the function runs"))
        .collect();
    let cpu_before: f64 = pids.iter().map(|p| cpu_secs(*p)).sum();

    let done = std::sync::atomic::AtomicBool::new(false);
    let started = Instant::now();
    let watcher = async {
        let mut last_print = Instant::now();
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let now = bench
                .alerts
                .get(&alert.alert_id)
                .await
                .expect("the alert is read")
                .expect("the alert exists");
            if now.recipients == n as u64 && now.sent == now.recipients {
                done.store(true, std::sync::atomic::Ordering::SeqCst);
                return started.elapsed().as_secs_f64();
            }
            if last_print.elapsed() > Duration::from_secs(15) {
                last_print = Instant::now();
                println!(
                    "end to end: {:.0} s: recipients {}, sent {}, failed {}",
                    started.elapsed().as_secs_f64(),
                    now.recipients,
                    now.sent,
                    now.failed
                );
            }
        }
    };
    let (counts, elapsed_secs) = futures::join!(
        futures::future::join_all(apis.iter().map(|api| poll_until(&bench, &done, api))),
        watcher
    );
    let hwm_kib = pids.iter().map(|p| vm_hwm_kib(*p)).max().unwrap_or(0);
    let cpu: f64 = pids.iter().map(|p| cpu_secs(*p)).sum::<f64>() - cpu_before;
    for mut f in functions {
        f.child.kill().await.ok();
    }
    let left = bench.queue_depth().await;

    // Every number texted once, with the alert's message.
    let sent = devstack::emulator::sent_texts(bench.stack.endpoint())
        .await
        .expect("the SMS log");
    let ours: HashSet<String> = (0..n).map(phone).collect();
    let mut per_number: HashMap<&str, usize> = HashMap::new();
    for text in sent.iter().filter(|t| ours.contains(&t.phone_number)) {
        assert_eq!(text.message, alert.message, "the alert's text");
        *per_number.entry(text.phone_number.as_str()).or_default() += 1;
    }
    let texts: usize = per_number.values().sum();
    let twice = per_number.values().filter(|c| **c > 1).count();
    assert_eq!(twice, 0, "{twice} numbers texted more than once");
    assert_eq!(per_number.len(), n, "every number texted");
    assert_eq!(texts, n, "one text per subscriber");
    let public = bench.public(&alert.alert_id).await;
    assert_eq!(public["delivery"]["recipients"], n as u64, "{public}");
    assert_eq!(public["delivery"]["sent"], n as u64, "{public}");
    assert_eq!(public["delivery"]["failed"], 0, "{public}");

    let (invocations, messages, redelivered) = counts
        .iter()
        .fold((0, 0, 0), |a, c| (a.0 + c.0, a.1 + c.1, a.2 + c.2));
    Texted {
        subscribers: n,
        invokers,
        elapsed_secs,
        carry_secs,
        invocations,
        messages,
        redelivered,
        texts,
        cpu_secs: cpu,
        hwm_kib,
        left,
        maximum_concurrency: bench.maximum_concurrency(),
        retry_budget: bench
            .template_number("AlertDeliveryQueue", "VisibilityTimeout", "")
            .zip(bench.template_number("AlertDeliveryQueue", "RedrivePolicy", "/maxReceiveCount")),
    }
}

fn row(what: &str, figure: String) {
    println!("| {what:<58} | {figure}");
}

#[tokio::main]
async fn main() {
    let plan_n = env_number("BENCH_PLAN_SUBSCRIBERS", 12_000);
    let text_n = env_number("BENCH_TEXT_SUBSCRIBERS", 2_500);
    let invokers = env_number("BENCH_INVOKERS", 4).max(1);

    let planned = if plan_n > 0 {
        Some(planner(plan_n).await)
    } else {
        None
    };
    let texted = if text_n > 0 {
        Some(end_to_end(text_n, invokers).await)
    } else {
        None
    };
    let emulator_hwm = emulator_pid().map(vm_hwm_kib);
    // The emulator would otherwise outlive this process for minutes, freeing
    // its heap.
    tokio::task::spawn_blocking(|| {
        if let Ok(emulator) = devstack::emulator::shared() {
            emulator.stop();
        }
    })
    .await
    .ok();

    println!();
    println!("alert fan-out on the emulator (alert-sms release binary, {MEMORY_MB} MB)");
    row("what", "figure".to_owned());
    row("---", "---".to_owned());
    if let Some(p) = &planned {
        row(
            "planner: subscribers seeded (items, index entries)",
            format!(
                "{} ({} items, {} index entries; seeded in {}, BatchWriteItem x{WRITE_CONCURRENCY})",
                thousands(p.subscribers as u64),
                thousands(p.items as u64),
                thousands(p.index_entries as u64),
                duration(p.seed_secs)
            ),
        );
        row(
            "planner: recipients (delivery.recipients == batches' sum)",
            format!(
                "{} distinct, each in exactly one batch",
                thousands(p.recipients)
            ),
        );
        row(
            "planner: wall time, alert.issued to the last plan step",
            format!(
                "{} ({} plan steps + alert.issued in {} invocations; {PLAN_PAGE} entries a page)",
                duration(p.wall_secs),
                p.plan_steps,
                p.invocations
            ),
        );
        row(
            "planner: batch messages queued",
            format!(
                "{} (<= {BATCH_RECIPIENTS} recipients each)",
                thousands(p.batches as u64)
            ),
        );
        row(
            "planner: peak RSS of the process (VmHWM)",
            format!("{:.1} MiB", p.hwm_kib as f64 / 1024.0),
        );
        row(
            "planner: CPU time of the process",
            format!(
                "{:.2} s ({:.1} ms per plan step)",
                p.cpu_secs,
                p.cpu_secs * 1000.0 / p.plan_steps.max(1) as f64
            ),
        );
    }
    if let Some(t) = &texted {
        let rate = t.subscribers as f64 / t.elapsed_secs;
        row(
            "end to end: subscribers texted (SMS log: once per number)",
            format!(
                "{} texts to {} numbers",
                thousands(t.texts as u64),
                thousands(t.subscribers as u64)
            ),
        );
        row(
            "end to end: issued (on the queue) to sent == recipients",
            format!(
                "{} with {} processes ({:.0} texts/s); approval + pipe carry {:.1} s before",
                duration(t.elapsed_secs),
                t.invokers,
                rate,
                t.carry_secs
            ),
        );
        row(
            "end to end: invocations (messages, of which redelivered)",
            format!(
                "{} ({} messages, {} redelivered); left in queue {} visible, {} in flight",
                t.invocations, t.messages, t.redelivered, t.left.0, t.left.1
            ),
        );
        row(
            "end to end: peak RSS of the busiest process (VmHWM)",
            format!("{:.1} MiB", t.hwm_kib as f64 / 1024.0),
        );
        let cpu_ms = t.cpu_secs * 1000.0 / t.texts.max(1) as f64;
        row(
            "end to end: CPU time of the processes",
            format!("{:.2} s ({cpu_ms:.2} ms per text)", t.cpu_secs),
        );
    }
    if let Some(kib) = emulator_hwm {
        row(
            "the emulator's peak RSS (moto, every part run)",
            format!("{:.1} GiB", kib as f64 / 1048576.0),
        );
    }
    if let Some(t) = &texted {
        extrapolate(t, planned.as_ref());
    }
}

/// Part 3: 100,000 texts on Lambda.
fn extrapolate(t: &Texted, planned: Option<&Planned>) {
    let rate = t.subscribers as f64 / t.elapsed_secs;
    let cpu_ms = t.cpu_secs * 1000.0 / t.texts.max(1) as f64;
    let concurrency = t.maximum_concurrency.unwrap_or(50) as f64;
    let in_flight = 10.0 * SEND_CONCURRENCY as f64;
    let vcpu = f64::from(MEMORY_MB) / VCPU_MB;
    let cpu_bound = vcpu / (cpu_ms / 1000.0);
    let latency_bound = in_flight / (AWS_TEXT_LATENCY_MS / 1000.0);
    let function_rate = cpu_bound.min(latency_bound) * concurrency;
    println!();
    println!(
        "extrapolation to {} texts on Lambda ({MEMORY_MB} MB = {vcpu:.3} vCPU): batches of \
         {BATCH_RECIPIENTS}, 10 per invocation, {SEND_CONCURRENCY} texts in flight per batch, \
         MaximumConcurrency {concurrency:.0}{}",
        thousands(TARGET as u64),
        if t.maximum_concurrency.is_some() {
            " (template)"
        } else {
            " (assumed)"
        }
    );
    row("what", "time to text all".to_owned());
    row("---", "---".to_owned());
    for quota in SMS_QUOTAS {
        row(
            &format!("bound by SNS at {quota:.0} SMS/s (assumed quota)"),
            duration(TARGET / quota),
        );
    }
    row(
        "bound by the function (CPU measured, latency assumed)",
        format!(
            "{} at {function_rate:.0} texts/s: {concurrency:.0} x min({cpu_bound:.0}/s CPU-bound at \
             {cpu_ms:.2} ms a text, {latency_bound:.0}/s for {in_flight:.0} in flight at \
             {AWS_TEXT_LATENCY_MS:.0} ms)",
            duration(TARGET / function_rate),
        ),
    );
    row(
        "one invocation of 10 full batches at 128 MB, CPU alone",
        format!(
            "{:.1} s of the 30 s timeout ({} texts x {cpu_ms:.2} ms / {vcpu:.3} vCPU)",
            10.0 * BATCH_RECIPIENTS as f64 * cpu_ms / 1000.0 / vcpu,
            10 * BATCH_RECIPIENTS
        ),
    );
    if let Some(p) = planned {
        let cpu_step = p.cpu_secs / p.plan_steps.max(1) as f64;
        let step = cpu_step / vcpu + AWS_PLAN_IO_MS / 1000.0;
        let pages =
            (TARGET * p.largest_region as f64 / p.subscribers as f64 / f64::from(PLAN_PAGE)).ceil();
        row(
            "planning (largest region's pages one after the other)",
            format!(
                "{} ({pages:.0} pages x {step:.2} s: {:.0} ms CPU / {vcpu:.3} vCPU + \
                 {AWS_PLAN_IO_MS:.0} ms I/O assumed); texting starts with the first page",
                duration(pages * step),
                cpu_step * 1000.0
            ),
        );
    }
    if let Some((visibility, receives)) = t.retry_budget {
        let sns_secs = TARGET / SMS_QUOTAS[0];
        row(
            "a throttled batch's retry budget (visibility x receives)",
            format!(
                "{} before the dead-letter queue, vs {} to send at {:.0} SMS/s",
                duration((visibility * receives) as f64),
                duration(sns_secs),
                SMS_QUOTAS[0]
            ),
        );
    }
    row(
        &format!(
            "the emulator at {} subscribers (not a model of AWS)",
            thousands(t.subscribers as u64)
        ),
        format!("{} at {rate:.0} texts/s", duration(TARGET / rate)),
    );
}
