"""sm_invoke: a DataFrame in, CSV payloads under the real-time limit out, predictions back."""
