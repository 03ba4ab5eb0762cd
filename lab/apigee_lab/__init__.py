"""The local Apigee lab: an Edge management API emulator, a Message Processor runtime, mTLS backends and scenarios.

The project talks to the lab only over the network, exactly as it talks to Apigee Edge and to real backends.
"""
