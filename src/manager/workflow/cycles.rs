//! Dependency cycles, the one whole-workflow rule of [`super::validate`]:
//! ComfyUI refuses a prompt whose links loop, naming every node on a loop.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde_json::{Map, Value};

use super::check::Checker;
use super::{Problem, Workflow, node_key};

impl Checker<'_> {
    /// Reports every node on a dependency cycle, as ComfyUI does.
    pub(super) fn cycles(&mut self) {
        let graph = Graph::of(self.workflow);
        let core = graph.cycle_core();
        let reaches: BTreeMap<&str, BTreeSet<&str>> =
            core.iter().map(|&n| (n, graph.reach(n, &core))).collect();
        for (&n, from_n) in &reaches {
            if !from_n.contains(n) {
                continue;
            }
            let mut with: Vec<&str> = from_n
                .iter()
                .copied()
                .filter(|&m| m != n && reaches[m].contains(n))
                .collect();
            with.sort_by(|a, b| node_key(a).cmp(&node_key(b)));
            let msg = if with.is_empty() {
                "links to itself, a dependency cycle".to_owned()
            } else {
                format!("is in a dependency cycle with node(s) {}", with.join(", "))
            };
            let class = self.workflow.class_type(n).unwrap_or_default();
            self.problems.push(Problem::new(n, class, None, msg));
        }
    }
}

/// The workflow's links both ways, by node id: what each node depends on
/// and what uses it. Only well-formed links to nodes that exist count.
struct Graph<'a> {
    deps: BTreeMap<&'a str, BTreeSet<&'a str>>,
    users: BTreeMap<&'a str, BTreeSet<&'a str>>,
}

impl<'a> Graph<'a> {
    fn of(workflow: &'a Workflow) -> Graph<'a> {
        let nodes = &workflow.nodes;
        let mut graph = Graph {
            deps: BTreeMap::new(),
            users: BTreeMap::new(),
        };
        for (id, node) in nodes {
            graph.deps.entry(id).or_default();
            graph.users.entry(id).or_default();
            let inputs = node.get("inputs").and_then(Value::as_object);
            for value in inputs.into_iter().flat_map(Map::values) {
                if let Some(dep) = link_target(value)
                    && let Some((dep, _)) = nodes.get_key_value(dep)
                {
                    graph.deps.entry(id).or_default().insert(dep);
                    graph.users.entry(dep).or_default().insert(id);
                }
            }
        }
        graph
    }

    /// The nodes left after peeling off, again and again, those that depend
    /// on nothing left or that nothing left depends on: they cannot be on a
    /// cycle. What remains is small, so [`Graph::reach`] on it is cheap.
    fn cycle_core(&self) -> BTreeSet<&'a str> {
        let (deps, users) = (&self.deps, &self.users);
        let mut left: BTreeSet<&str> = deps.keys().copied().collect();
        let mut queue: VecDeque<&str> = left
            .iter()
            .copied()
            .filter(|n| deps[n].is_empty() || users[n].is_empty())
            .collect();
        while let Some(n) = queue.pop_front() {
            if !left.remove(n) {
                continue;
            }
            for m in deps[n].iter().chain(&users[n]) {
                let stuck = |set: &BTreeSet<&str>| set.iter().all(|x| !left.contains(x));
                if left.contains(m) && (stuck(&deps[m]) || stuck(&users[m])) {
                    queue.push_back(m);
                }
            }
        }
        left
    }

    /// Every node in `within` that `from` depends on, directly or not.
    fn reach(&self, from: &str, within: &BTreeSet<&'a str>) -> BTreeSet<&'a str> {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<&str> = self.deps[from].iter().copied().collect();
        while let Some(n) = todo.pop() {
            if within.contains(n) && seen.insert(n) {
                todo.extend(self.deps[n].iter().copied());
            }
        }
        seen
    }
}

/// The node id a value links to, if it is a well-formed link.
fn link_target(value: &Value) -> Option<&str> {
    match value.as_array()?.as_slice() {
        [Value::String(id), slot] if slot.is_u64() => Some(id),
        _ => None,
    }
}
