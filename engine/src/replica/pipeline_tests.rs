//! The leader plans its next group while the one before is in the log (`write/layer.rs`):
//! the next group's checks see the group below as if it were applied, it lands after it,
//! and when the group below never lands, the next one is planned again on the store as it is.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::tests::{assert_same_store, catch_up, FakeLog, Pair};
use super::{AppendOutcome, Refusal};
use crate::model::{NewCustomer, NewOrder, NewProduct};
use crate::store::PendingWrite;
use crate::write::{Op, Outcome, Write};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Enough writes for the committer to plan them as a group while another is in the log.
const NEXT_GROUP: usize = 80;

fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "waited too long: {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn new_customer(email: &str) -> Op {
    Op::AddCustomer(NewCustomer::parse("Ada", email, None, None, None).unwrap())
}

fn order(customer_id: u64, product_id: u64) -> Op {
    Op::AddOrder(NewOrder {
        id: None,
        customer_id,
        product_id,
        quantity: 1,
        created_at: None,
        take_stock: true,
    })
}

/// A product with stock, then the log paused and one customer (`a@x.example`, id 1) sent to
/// it: its group waits in the log, to end with `outcome` (`None`: committed). Returns the
/// product and the customer's pending write.
fn hold_a_group(pair: &Pair, outcome: Option<AppendOutcome>) -> (u64, PendingWrite) {
    let product = pair
        .leader
        .write(Op::AddProduct(
            NewProduct::parse("Pen", "1.00", Some("1000")).unwrap(),
        ))
        .unwrap()
        .id();
    let log = &pair.log;
    *log.paused.lock().unwrap() = true;
    *log.next.lock().unwrap() = outcome.map(|outcome| (outcome, false));
    let appends = log.appends.load(Ordering::SeqCst);
    let held = pair.leader.submit(new_customer("a@x.example")).unwrap();
    wait_until("the customer's group in the log", || {
        log.appends.load(Ordering::SeqCst) > appends
    });
    (product, held)
}

/// Submits `ops`, then waits until the committer has begun planning a group of them on the
/// group waiting in the log (its gate is asked only for that while a group waits).
fn submit_while_held(log: &FakeLog, leader: &crate::Store, ops: Vec<Op>) -> Vec<PendingWrite> {
    let checks = log.gate_checks.load(Ordering::SeqCst);
    let pending = ops
        .into_iter()
        .map(|op| leader.submit(op).unwrap())
        .collect();
    wait_until("the next group planned", || {
        log.gate_checks.load(Ordering::SeqCst) > checks
    });
    pending
}

// Guards the layered view: a group planned while the one before is in etcd must see it (an
// email it took, a customer it added, the stock and ids it used), or the leader would
// acknowledge writes that break the checks once both are applied.
#[test]
fn a_group_planned_on_one_in_the_log_sees_it_and_lands_after_it() {
    let pair = Pair::new();
    let (log, leader) = (&pair.log, &pair.leader);
    let (product, held) = hold_a_group(&pair, None);
    let mut ops = vec![new_customer("a@x.example")];
    ops.extend((0..NEXT_GROUP).map(|_| order(1, product)));
    let pending = submit_while_held(log, leader, ops);
    log.resume();
    assert!(matches!(held.wait(), Ok(Outcome::Id(1))));
    let mut pending = pending.into_iter();
    let again = pending.next().unwrap().wait();
    assert!(
        matches!(again, Err(crate::Error::EmailTaken { owner: 1, .. })),
        "the email the group below took: {again:?}"
    );
    let ids: Vec<u64> = pending.map(|write| write.wait().unwrap().id()).collect();
    assert_eq!(ids, (1..=NEXT_GROUP as u64).collect::<Vec<_>>());
    let stock = leader.product(product).unwrap().unwrap().stock;
    assert_eq!(stock, 1000 - NEXT_GROUP as u64);
    assert_eq!(leader.counts().unwrap().customers, 1);
    leader.check_consistency().unwrap();
    let follower = pair.follower_on(&pair.follower_dir);
    catch_up(&follower, log);
    assert_same_store(leader, &follower);
}

// Guards the other side: a group planned on one that never lands rests on writes that do not
// exist. Its plan is dropped and its writes planned again: here the orders of the customer
// that never came are refused, and its email is free.
#[test]
fn when_the_group_below_does_not_land_the_next_is_planned_again() {
    type Check = fn(&crate::Error) -> bool;
    let cases: [(AppendOutcome, Check); 2] = [
        (AppendOutcome::Refused(Refusal::ReadOnly), |e| {
            matches!(e, crate::Error::ReadOnly)
        }),
        (AppendOutcome::Unknown, |e| {
            matches!(e, crate::Error::TryAgain)
        }),
    ];
    for (outcome, expected) in cases {
        let pair = Pair::new();
        let (log, leader) = (&pair.log, &pair.leader);
        let (product, held) = hold_a_group(&pair, Some(outcome));
        let mut ops: Vec<Op> = (0..NEXT_GROUP).map(|_| order(1, product)).collect();
        ops.push(new_customer("a@x.example"));
        let pending = submit_while_held(log, leader, ops);
        log.resume();
        let error = held.wait().unwrap_err();
        assert!(expected(&error), "{error:?}");
        let mut results: Vec<_> = pending.into_iter().map(PendingWrite::wait).collect();
        let added = results.pop().unwrap();
        assert!(matches!(added, Ok(Outcome::Id(1))), "{added:?}");
        for result in results {
            assert!(
                matches!(result, Err(crate::Error::MissingReference { id: 1, .. })),
                "an order of a customer that never was: {result:?}"
            );
        }
        assert_eq!(leader.counts().unwrap().orders, 0);
        leader.check_consistency().unwrap();
        let follower = pair.follower_on(&pair.follower_dir);
        catch_up(&follower, log);
        assert_same_store(leader, &follower);
    }
}

// Guards the whole pipeline against any write kind the layered view reads differently from
// the store (merges, erasures, users, upserts, stock, counters, the journal): random bursts
// planned on groups held in the log must get the answers the same writes get one by one, and
// a follower fed the log must hold the leader's store.
#[test]
fn random_bursts_planned_on_groups_in_the_log_answer_as_one_by_one() {
    use rand::{Rng, SeedableRng};
    let pair = Pair::new();
    let reference = Pair::new();
    let (log, leader) = (&pair.log, &pair.leader);
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x1a7e5);
    for _ in 0..15 {
        // Led by a write that surely changes the store, so that a group waits in the log.
        let product = NewProduct::parse("Lead", "1.00", Some("50")).unwrap();
        let below: Vec<Write> = std::iter::once(Write::from(Op::AddProduct(product)))
            .chain(
                (0..rng.gen_range(0..20))
                    .map(|_| super::tests::random_op(&reference.leader, &mut rng)),
            )
            .collect();
        let next: Vec<Write> = (0..rng.gen_range(NEXT_GROUP..2 * NEXT_GROUP))
            .map(|_| super::tests::random_op(&reference.leader, &mut rng))
            .collect();
        *log.paused.lock().unwrap() = true;
        let appends = log.appends.load(Ordering::SeqCst);
        let mut pending: Vec<PendingWrite> = below
            .iter()
            .map(|write| leader.submit(write.clone()).unwrap())
            .collect();
        wait_until("a group in the log", || {
            log.appends.load(Ordering::SeqCst) > appends
        });
        let checks = log.gate_checks.load(Ordering::SeqCst);
        pending.extend(
            next.iter()
                .map(|write| leader.submit(write.clone()).unwrap()),
        );
        wait_until("the next group planned", || {
            log.gate_checks.load(Ordering::SeqCst) > checks
        });
        log.resume();
        let answers: Vec<String> = pending
            .into_iter()
            .map(|write| format!("{:?}", write.wait()))
            .collect();
        let expected: Vec<String> = below
            .into_iter()
            .chain(next)
            .map(|write| format!("{:?}", reference.leader.write(write)))
            .collect();
        assert_eq!(answers, expected);
    }
    assert_eq!(leader.counts().unwrap(), reference.leader.counts().unwrap());
    assert_eq!(
        leader.journal_head().seq,
        reference.leader.journal_head().seq
    );
    leader.check_consistency().unwrap();
    let follower = pair.follower_on(&pair.follower_dir);
    catch_up(&follower, log);
    assert_same_store(leader, &follower);
}
