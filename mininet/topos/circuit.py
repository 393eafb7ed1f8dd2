"""(2) The prototype with a virtual circuit whose RTT differs from the routed path's: by default half of it (a
more direct path, as ESnet's circuits often are), or circuit_rtt. Same site config as the prototype, renamed.
"""
from topos import prototype


def spec(rtt=88.0, circuit_rtt=None, **opts):
    s = prototype.spec(rtt=rtt, circuit_rtt=rtt / 2.0 if circuit_rtt is None else circuit_rtt, **opts)
    s.site = 'circuit'
    if s.circuits[0].rtt_ms == s.rtt_ms:
        raise ValueError('the circuit topology needs a circuit RTT different from the routed RTT')
    return s
