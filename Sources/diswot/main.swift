print("diswot")
