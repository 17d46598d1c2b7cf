"""The scripting face of `Lab` (docs/api.md): `face.py` (`LabScripting`: api, apply, wait_for,
node), `manifests.py` (what apply reads and sends), `wait_for.py` (kubectl wait's conditions),
`lab_node.py` (a node's namespace, CRI socket and logs)."""
